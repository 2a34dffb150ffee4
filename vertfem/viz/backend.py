"""Which OpenGL context VTK renders with: the first one that works, probed in a child process.

Since VTK 9.4 the render-window class is chosen at run time; on Linux VTK
tries X11 (GLX), then EGL, then OSMesa, and ``VTK_DEFAULT_OPENGL_WINDOW``
names one explicitly (VTK documentation, "Runtime settings",
https://docs.vtk.org/en/latest/advanced/runtime_settings.html). A missing
library is not always a clean failure: without libOSMesa the OSMesa window
ends the process with a segmentation fault. vertfem therefore never forces a
backend blindly. Each candidate renders a 16 × 16 red square in a short-lived
child process, whose pixels are checked; vertfem's windows are created with
the first candidate that rendered, and when none did
:class:`~vertfem.errors.RenderingError` names the packages to install. The
probe runs once per process and set of relevant environment variables
(~0.8 s).

On Windows and macOS VTK has one native window class and no probe is made.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import pyvista as pv

from ..errors import RenderingError

__all__ = ["INSTALL_HINT", "RenderingBackend", "new_plotter", "rendering_backend"]

log = logging.getLogger(__name__)

WINDOW_VARIABLE = "VTK_DEFAULT_OPENGL_WINDOW"

#: VTK's render-window classes on Linux, in VTK's own order of preference.
CANDIDATES: dict[str, str] = {
    "X11": "vtkXOpenGLRenderWindow",
    "EGL": "vtkEGLRenderWindow",
    "OSMesa": "vtkOSOpenGLRenderWindow",
}

#: What to install when no backend works (quoted in :class:`RenderingError`).
INSTALL_HINT = (
    "install one OpenGL backend: EGL (Debian/Ubuntu: apt install libegl1 libegl-mesa0 libgl1-mesa-dri; "
    "Fedora: dnf install mesa-libEGL mesa-dri-drivers), or OSMesa (Debian/Ubuntu: apt install libosmesa6; "
    "Fedora: dnf install mesa-libOSMesa; conda: conda install -c conda-forge mesalib), or run under a virtual "
    "X server (apt install xvfb, then xvfb-run vertfem ...). VTK's PyPI wheels (pip install 'vtk>=9.4') load "
    "EGL and OSMesa at run time, so no special VTK build is needed"
)

_PROBE = """
import sys
from vtkmodules import vtkRenderingOpenGL2  # registers the OpenGL window classes
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow
window = vtkRenderWindow()
window.SetOffScreenRendering(True)
window.SetSize(16, 16)
renderer = vtkRenderer()
renderer.SetBackground(1.0, 0.0, 0.0)
window.AddRenderer(renderer)
window.Render()
pixels = vtkUnsignedCharArray()
window.GetRGBACharPixelData(0, 0, 15, 15, 0, pixels)
red = all(pixels.GetTuple(i)[:3] == (255.0, 0.0, 0.0) for i in range(pixels.GetNumberOfTuples()))
print(window.GetClassName(), "red" if red else "wrong-pixels")
sys.exit(0 if red else 3)
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class RenderingBackend:
    """The OpenGL context vertfem's windows are created with.

    Attributes
    ----------
    name : str
        ``"X11"``, ``"EGL"``, ``"OSMesa"``, the class named by
        ``VTK_DEFAULT_OPENGL_WINDOW``, or ``"native"`` (Windows, macOS).
    window_class : str or None
        VTK class requested when a window is created (``None``: VTK's default).
    """

    name: str
    window_class: str | None


def _reason(proc: subprocess.CompletedProcess[str]) -> str:
    """Why a probe failed: how it ended and VTK's first warning or error (later ones come from its fallbacks)."""
    how = f"crashed (signal {-proc.returncode})" if proc.returncode < 0 else f"failed (exit {proc.returncode})"
    lines = [_ANSI.sub("", ln).strip() for ln in proc.stderr.splitlines() if ln.strip()]
    said = [ln.split("| ", 1)[-1] for ln in lines if "WARN|" in ln or "ERR|" in ln] or lines[-1:]
    return f"{how}: {said[0][:160].rstrip('.')}" if said else how


def _probe(window_class: str) -> tuple[str | None, str]:
    """Render in a child process with ``window_class`` requested.

    Returns the class VTK actually rendered with (it may fall back to
    another) and ``""``, or ``None`` and the reason it did not render.
    """
    env = {**os.environ, WINDOW_VARIABLE: window_class}
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None, "timed out after 60 s"
    if proc.returncode != 0:
        return None, _reason(proc)
    return proc.stdout.split()[0], ""


@cache
def _select(off_screen: bool, platform: str, display: str, requested: str) -> RenderingBackend | str:
    """The first working backend, or the message listing what was tried (cached per environment)."""
    if not (platform.startswith("linux") or "bsd" in platform):
        return RenderingBackend("native", None)
    if requested:
        candidates = {requested: requested}
    elif off_screen:
        candidates = CANDIDATES if display else {k: v for k, v in CANDIDATES.items() if k != "X11"}
    elif display:
        candidates = {"X11": CANDIDATES["X11"]}
    else:
        return ("no display for an interactive window (DISPLAY is unset): render to a file instead "
                "(screenshot= in Python, --screenshot on the command line)")
    tried = [] if display or requested else ["X11: skipped, DISPLAY is unset"]
    names = {cls: name for name, cls in CANDIDATES.items()}
    for name, cls in candidates.items():
        used, why = _probe(cls)
        if used is not None:
            log.info("rendering with %s (%s requested)", used, cls)
            return RenderingBackend(names.get(used, used), used)
        tried.append(f"{name}: {why}")
    via = f" ({WINDOW_VARIABLE}={requested} set in the environment; unset it to let vertfem choose)" if requested \
        else ""
    return f"no OpenGL backend renders on this machine{via}; tried {'; '.join(tried)}. To fix it, {INSTALL_HINT}"


def rendering_backend(*, off_screen: bool = True) -> RenderingBackend:
    """The first OpenGL backend that renders on this machine (probed once per process, in a child process).

    Parameters
    ----------
    off_screen : bool
        Rendering to an image (any backend) rather than to a window on the
        screen (X11 only, needs ``DISPLAY``).

    Returns
    -------
    RenderingBackend

    Raises
    ------
    RenderingError
        No backend works; the message lists each one tried, why it failed,
        and the Debian/Fedora/conda/PyPI packages that provide one.

    Examples
    --------
    >>> rendering_backend().name in {"X11", "EGL", "OSMesa", "native"}  # doctest: +SKIP
    True
    """
    found = _select(off_screen, sys.platform, os.environ.get("DISPLAY", ""), os.environ.get(WINDOW_VARIABLE, ""))
    if isinstance(found, str):
        raise RenderingError(found)
    return found


@contextmanager
def _window_class(window_class: str | None) -> Iterator[None]:
    """Request ``window_class`` while a window is created, then restore the environment.

    VTK reads the variable when a render window is constructed, so setting it
    around the constructor alone leaves the process environment as it was.
    """
    before = os.environ.get(WINDOW_VARIABLE)
    if window_class is None or before == window_class:
        yield
        return
    os.environ[WINDOW_VARIABLE] = window_class
    try:
        yield
    finally:
        if before is None:
            del os.environ[WINDOW_VARIABLE]
        else:
            os.environ[WINDOW_VARIABLE] = before


def new_plotter(*, off_screen: bool, **kwargs: object) -> pv.Plotter:
    """A pyvista plotter on the first working backend (:func:`rendering_backend`).

    Raises
    ------
    RenderingError
        No backend works on this machine.
    """
    backend = rendering_backend(off_screen=off_screen)
    with _window_class(backend.window_class):
        return pv.Plotter(off_screen=off_screen, **kwargs)  # type: ignore[arg-type]
