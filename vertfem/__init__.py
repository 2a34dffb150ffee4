"""vertfem — CT-based finite-element analysis of vertebrae.

Typical use::

    import vertfem as vf
    p = vf.example_paths()
    l1 = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    print(vf.trabecular_vbmd(l1).vbmd_mg_cm3, vf.fe_analysis(l1).stiffness_N_per_mm)

The public API is listed once, in ``__init__.pyi``; names are imported from
their modules on first use (``lazy_loader``), so ``import vertfem`` and the
command line start quickly and an FE run does not load the statistics or
texture stacks.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
