"""A synthetic cohort for the learned route: phantom patients, their CTs, slabs, and the physics-route aBMD.

Each patient has a vBMD from :func:`~vertfem.ctsim.synthetic_cohort` (osteoporotic to normal); each of their
vertebrae varies it by ±8 % and the body size by ±3 %, has its own trabecular texture, and is scanned with the
patient's kernel (smooth or sharp, alternating) and its own noise. The target is the projected aBMD of
:mod:`vertfem.dxa` on the same CT (as a paired DXA would be), so the test asks whether the network learns what
the physics computes — without any private data.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..ctsim import simulate_ct, synthetic_cohort
from ..dxa import dxa_measure
from ..phantom import render_phantom
from ..vertebra import prepare_vertebra
from .data import SlabDataset
from .options import SlabOptions
from .slab import prepare_slabs

__all__ = ["synthetic_dataset"]


def synthetic_dataset(n_patients: int, *, vertebrae: tuple[str, ...] = ("L1", "L2"), spacing_mm: float = 1.0,
                      oversample: int = 3, slab: SlabOptions | None = None, seed: int = 0) -> SlabDataset:
    """Slabs and physics-route targets of a synthetic cohort (see the module notes).

    Parameters
    ----------
    n_patients : int
    vertebrae : tuple of str
        Levels per patient (each its own phantom and CT).
    spacing_mm : float
        CT voxel size.
    oversample : int
        Sub-samples per voxel axis when rendering (3 keeps a cohort fast; the texture is then approximate).
    slab : SlabOptions, optional
        Default: a 80 mm field of view at 64 pixels (the phantoms are single vertebrae).
    seed : int

    Returns
    -------
    SlabDataset
        Targets ``bmd`` (projected aBMD, g/cm²) and ``tbs`` (TBS-like index); extra columns ``vbmd_mg_cm3`` and
        ``kernel``.
    """
    opts = slab or SlabOptions(fov_mm=80.0, size_px=64)
    rng = np.random.default_rng(seed + 7)
    images, patients, names, abmd, tbs, vbmd, kernels = [], [], [], [], [], [], []
    for p, spec in enumerate(synthetic_cohort(n_patients, seed=seed)):
        kernel = ("smooth", "sharp")[p % 2]
        for lv in vertebrae:
            f = rng.uniform(0.92, 1.08)
            s = rng.uniform(0.97, 1.03, size=3)
            v_spec = replace(spec, trabecular_vbmd_mg_cm3=spec.trabecular_vbmd_mg_cm3 * f,
                             cortical_density_mg_cm3=spec.cortical_density_mg_cm3 * f,
                             width_mm=spec.width_mm * s[0], depth_mm=spec.depth_mm * s[1],
                             height_mm=spec.height_mm * s[2], seed=int(rng.integers(1 << 30)))
            truth = render_phantom(v_spec, spacing_mm=spacing_mm, oversample=oversample)
            ct = simulate_ct(truth, kernel, seed=int(rng.integers(1 << 30)))
            # the most osteoporotic phantoms are < 40 HU above their soft tissue, which the HU guard refuses
            v = prepare_vertebra(ct.scan, ct.labels, "L1", kernel=ct.scan.kernel, hu_check=False)
            d = dxa_measure(v)
            images.append(prepare_slabs(v, opts))
            patients.append(f"S{p:03d}")
            names.append(lv)
            abmd.append(d.abmd_g_cm2)
            tbs.append(d.tbs_like)
            vbmd.append(v_spec.trabecular_vbmd_mg_cm3)
            kernels.append(ct.scan.kernel)
    return SlabDataset(np.stack(images), tuple(patients), tuple(names),
                       {"bmd": np.asarray(abmd), "tbs": np.asarray(tbs)}, list(opts.offsets_mm).index(0.0),
                       {"vbmd_mg_cm3": np.asarray(vbmd), "kernel": np.asarray(kernels)})
