"""The rod-network microstructure of the phantom (``microstructure="rods"``): the prescribed vBMD at any connectivity,
fewer and thicker rods when connectivity falls, reproducibility, and its guards."""

from __future__ import annotations

import numpy as np
import pytest

from vertfem import errors as vf_errors
from vertfem.phantom import PhantomSpec, _rod_network, render_phantom
from vertfem.vertebra import erode_mm

SMALL = {"width_mm": 20.0, "depth_mm": 16.0, "height_mm": 12.0, "cortical_thickness_mm": 0.0, "microstructure": "rods",
         "seed": 4}


@pytest.mark.parametrize("connectivity", [1.0, 0.3])
def test_rods_give_the_prescribed_vbmd(connectivity):
    spec = PhantomSpec(rod_connectivity=connectivity, **SMALL)
    img = render_phantom(spec, spacing_mm=0.5, oversample=5)
    trab = erode_mm(img.trabecular_mask, img.geometry, 1.0)
    assert img.density_mg_cm3[trab].mean() == pytest.approx(spec.trabecular_vbmd_mg_cm3, rel=0.03)
    # a texture, not a uniform fill: voxels range from marrow to mostly rod
    d = img.density_mg_cm3[trab]
    assert d.std() > 0.7 * d.mean() and d.min() < 1.0 and d.max() > 4 * d.mean()


def test_lower_connectivity_means_fewer_thicker_rods_at_equal_bvtv():
    intact = _rod_network(PhantomSpec(**SMALL))
    degraded = _rod_network(PhantomSpec(rod_connectivity=0.3, **SMALL))
    n_cells = np.prod(intact[3][6:9])
    # every cell has its vertical rod; lateral and antero-posterior rods with probability = connectivity
    assert len(intact[0]) == 3 * n_cells
    assert len(degraded[0]) / n_cells == pytest.approx(1 + 2 * 0.3, abs=0.03)
    # BV/TV ∝ (rod length per volume) · r²: 3 cells' worth of rods against 1.6, so r grows by about √(3/1.6)
    assert degraded[4] / intact[4] == pytest.approx(np.sqrt(3 / 1.6), rel=0.1)


def test_rod_network_is_reproducible_and_seeded():
    a, b = _rod_network(PhantomSpec(**SMALL)), _rod_network(PhantomSpec(**SMALL))
    assert np.array_equal(a[0], b[0]) and a[4] == b[4]
    c = _rod_network(PhantomSpec(**{**SMALL, "seed": 5}))
    assert not np.array_equal(a[0], c[0])


def test_rod_options_are_checked():
    with pytest.raises(vf_errors.ConfigError, match="microstructure"):
        PhantomSpec(microstructure="foam")
    with pytest.raises(vf_errors.ConfigError, match="rod_connectivity"):
        PhantomSpec(microstructure="rods", rod_connectivity=0.0)
    with pytest.raises(vf_errors.ConfigError, match="radius"):  # BV/TV 0.5 cannot be made of rods this sparse
        _rod_network(PhantomSpec(trabecular_vbmd_mg_cm3=500.0, rod_connectivity=0.1, **{**SMALL, "seed": 1}))
