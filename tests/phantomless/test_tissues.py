"""Reference-tissue sampling: automatic, from masks, refusals, physical-space handling."""

from __future__ import annotations

import numpy as np
import pytest

from vertfem.ctsim import SimulatedKernel
from vertfem.errors import MaskImageMismatchError
from vertfem.io import Scan
from vertfem.phantom import PhantomSpec
from vertfem.phantomless._grid import block_sum
from vertfem.phantomless.attenuation import expected_hu, mineral_g_cm3_per_hu
from vertfem.phantomless.simulate import render_body_phantom, simulate_body_ct
from vertfem.phantomless.tissues import ReferenceTissueError, sample_reference_tissues, totalsegmentator_tissue_masks

NOISE_FREE = SimulatedKernel("B40f", 0.6, 0.0, 1.0, 0.0, 0.6)


def test_automatic_and_mask_samples_read_the_tissues_ct_numbers(body_2mm):
    ct = simulate_body_ct(body_2mm, energy_keV=70.0, kernel="smooth", seed=3)
    s = sample_reference_tissues(ct.scan, ct.vertebra_mask, tissue_labels={"blood": ct.tissue_masks()["blood"]})
    assert set(s.samples) == {"air", "adipose", "muscle", "blood"}
    # noise 12 HU per voxel: medians of thousands of voxels are within a few tenths of an HU
    tol = {"air": 0.5, "adipose": 0.5, "muscle": 1.0, "blood": 2.0}
    for t, x in s.samples.items():
        assert x.hu_median == pytest.approx(float(expected_hu(t, 70.0)), abs=tol[t]), t
        assert x.hu_spread == pytest.approx(12.0, rel=0.25), t
    # the vertebral cortex (0.8 mm) is not resolved at 2 mm: skipped, with the reason
    assert "cortical_bone" in s.skipped and "not resolved" in s.skipped["cortical_bone"]
    # every sample lies in the slab around the vertebra and where its tissue is
    z = ct.scan.geometry.index_to_physical(np.argwhere(ct.vertebra_mask)[:, ::-1].astype(float))[:, 2]
    assert all(z.min() - 20.0 <= x.centroid_mm[2] <= z.max() + 20.0 for x in s.samples.values())
    assert s.samples["muscle"].centroid_mm[1] > 20.0  # behind the vertebra (+y posterior)
    assert abs(s.samples["muscle"].centroid_mm[0]) < 10.0  # both sides sampled


def test_direction_cosines_do_not_change_the_samples():
    spec = PhantomSpec(texture=False, posterior_elements=True)
    meds = []
    for direction in ((-1, 0, 0, 0, -1, 0, 0, 0, 1), (1, 0, 0, 0, 1, 0, 0, 0, 1), (0, 1, 0, 1, 0, 0, 0, 0, -1)):
        ph = render_body_phantom(spec, spacing_mm=2.0, direction=direction)
        ct = simulate_body_ct(ph, energy_keV=60.0, kernel=NOISE_FREE)
        s = sample_reference_tissues(ct.scan, ct.vertebra_mask)
        meds.append({t: x.hu_median for t, x in s.samples.items()})
        assert s.samples["muscle"].centroid_mm[1] > 20.0
    for m in meds:
        for t in ("air", "adipose", "muscle"):
            assert m[t] == pytest.approx(float(expected_hu(t, 60.0)), abs=0.01), t


def test_padding_outside_the_reconstructed_fov_is_not_air(body_2mm):
    ct = simulate_body_ct(body_2mm, energy_keV=70.0, kernel=NOISE_FREE)
    hu = ct.scan.hu.copy()
    _, nj, ni = hu.shape
    jj, ii = np.mgrid[:nj, :ni]
    outside = (ii - ni / 2) ** 2 / (ni / 2) ** 2 + (jj - nj / 2) ** 2 / (nj / 2) ** 2 > 1.0
    hu[:, outside] = -3024.0
    s = sample_reference_tissues(Scan(hu, ct.scan.geometry), ct.vertebra_mask)
    assert s.samples["air"].hu_median == pytest.approx(-1000.0, abs=0.01)


def test_too_small_samples_refuse_naming_the_tissue(body_2mm):
    ct = simulate_body_ct(body_2mm, energy_keV=70.0, kernel="smooth", seed=1)
    with pytest.raises(ReferenceTissueError, match=r"'muscle'.*fewer than the 1000000000 mm³") as exc:
        sample_reference_tissues(ct.scan, ct.vertebra_mask, min_muscle_mm3=1e9)
    assert exc.value.tissue == "muscle"
    tiny = np.zeros(ct.scan.geometry.shape, bool)
    tiny[10, 60:62, 80:82] = True
    with pytest.raises(ReferenceTissueError, match="'blood'") as exc:
        sample_reference_tissues(ct.scan, ct.vertebra_mask, tissue_labels={"blood": tiny})
    assert exc.value.tissue == "blood"
    with pytest.raises(ReferenceTissueError, match="'blood' needs a blood mask"):
        sample_reference_tissues(ct.scan, ct.vertebra_mask, tissues=("air", "adipose", "muscle", "blood"))
    with pytest.raises(ReferenceTissueError, match=r"'cortical_bone'.*not resolved"):
        sample_reference_tissues(ct.scan, ct.vertebra_mask, tissues=("air", "adipose", "muscle", "cortical_bone"))


def test_thick_dense_bone_is_sampled():
    # a vertebra with a 6 mm, 1200 mg/cm³ shell at 1 mm voxels: the dense bone is resolved
    spec = PhantomSpec(texture=False, cortical_thickness_mm=6.0, cortical_density_mg_cm3=1200.0)
    ph = render_body_phantom(spec, spacing_mm=1.0)
    ct = simulate_body_ct(ph, energy_keV=70.0, kernel=NOISE_FREE)
    s = sample_reference_tissues(ct.scan, ct.vertebra_mask)
    want = 1.2 / float(mineral_g_cm3_per_hu("k2hpo4", 70.0))  # 1878 HU
    assert s.samples["cortical_bone"].hu_median == pytest.approx(want, abs=3.0)


def test_wrong_grids_and_names_raise(body_2mm):
    ct = simulate_body_ct(body_2mm, energy_keV=70.0, kernel=NOISE_FREE)
    with pytest.raises(MaskImageMismatchError, match="vertebra_mask"):
        sample_reference_tissues(ct.scan, ct.vertebra_mask[1:])
    with pytest.raises(MaskImageMismatchError, match="tissue_labels\\['blood'\\]"):
        sample_reference_tissues(ct.scan, ct.vertebra_mask, tissue_labels={"blood": np.zeros((2, 2, 2), bool)})
    with pytest.raises(ValueError, match="not a reference tissue"):
        sample_reference_tissues(ct.scan, ct.vertebra_mask, tissue_labels={"aorta": ct.vertebra_mask})


def test_totalsegmentator_ids(body_2mm):
    m = totalsegmentator_tissue_masks(body_2mm.total_labels, body_2mm.tissue_types)
    assert np.array_equal(m["blood"], body_2mm.total_labels == 52)
    assert np.array_equal(m["muscle"], np.isin(body_2mm.total_labels, [86, 87, 88, 89]))
    assert np.array_equal(m["adipose"], body_2mm.tissue_types == 1)
    only_types = totalsegmentator_tissue_masks(tissue_types=body_2mm.tissue_types)
    assert np.array_equal(only_types["muscle"], body_2mm.tissue_types == 3)


def test_block_sum_equals_naive_sum():
    a = np.random.default_rng(0).normal(size=(7, 9, 10))
    got = block_sum(a, (2, 3, 4))
    want = np.array([[[a[2 * k:2 * k + 2, 3 * j:3 * j + 3, 4 * i:4 * i + 4].sum() for i in range(2)]
                      for j in range(3)] for k in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-12)
