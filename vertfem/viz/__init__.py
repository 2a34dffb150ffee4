"""Visualisation with pyvista: fields, deformed shape, cuts in the vertebral frame, boundary sets, comparisons.

Every view renders interactively on a desktop, or off screen to a PNG when
``screenshot`` is given. The OpenGL backend is the first of VTK's (X11, EGL,
OSMesa) that renders on the machine, probed in a child process so that a
missing library can never crash the caller
(:func:`~vertfem.viz.backend.rendering_backend`); when none works,
:class:`~vertfem.errors.RenderingError` names the packages to install.

Views are ready for a figure: title, orientation triad of the vertebral
frame, a scalar bar with units that marks a clipped range, colour maps chosen
by the field's sign, a legend for the boundary-condition nodes, and a ``dpi``
option (:class:`ViewOptions`). :func:`plot_ct_overlay` draws a CT slice with
the mask outline and a map (matplotlib).

Names are imported from their modules on first use (the list is
``__init__.pyi``), so the command line can read :class:`ViewOptions` without
loading pyvista.

Examples
--------
>>> import vertfem as vf                                                              # doctest: +SKIP
>>> vf.viz.plot_field("out/result.vtu", "von_mises_MPa", clip="sagittal", dpi=300,
...                   screenshot="vm.png")                                              # doctest: +SKIP
PosixPath('vm.png')
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
