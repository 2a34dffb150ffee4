import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from vertfem.errors import MaskTooSmallError, MeshingError, NonManifoldSurfaceError
from vertfem.meshing.surface import Surface, cut_surface, mask_to_surface
from vertfem.meshing.tet10 import EDGES, GMSH_TO_VTK, physical_points, shape_functions
from vertfem.meshing.volume import box_mesh, check_jacobians, tetrahedralize
from vertfem.phantom import PhantomSpec, render_phantom

SPEC = PhantomSpec(texture=False)


@pytest.fixture(scope="module")
def phantom_mesh():
    img = render_phantom(SPEC, spacing_mm=1.0)
    # partial-volume fractions: a thresholded mask is off by up to half a voxel on the flat rims
    surf = mask_to_surface(img.body_fraction, img.geometry)
    return surf, tetrahedralize(surf, mesh_size_mm=2.0)


def test_phantom_volume_within_2_percent_and_jacobians_positive(phantom_mesh):
    surf, mesh = phantom_mesh
    assert mesh.quality.volume_mm3 == pytest.approx(SPEC.body_volume_mm3(), rel=0.02)
    assert surf.volume_mm3 == pytest.approx(SPEC.body_volume_mm3(), rel=0.02)
    det = check_jacobians(mesh.nodes_mm, mesh.elements)
    assert (det > 0).all()
    q = mesh.quality
    assert q.min_scaled_jacobian > 0.05 and 0.5 < q.mean_scaled_jacobian <= 1.0
    assert q.min_gamma > 0.1 and q.n_elements == len(mesh.elements)


def test_surface_from_3mm_mask_has_no_staircase():
    img = render_phantom(SPEC, spacing_mm=3.0)
    surf = mask_to_surface(img.body_mask, img.geometry).to_pyvista().compute_normals(cell_normals=True)
    n = np.asarray(surf.cell_data["Normals"])
    # a voxel staircase has nearly all normals on the 6 axis directions; a smooth surface does not
    axis_aligned = np.max(np.abs(n), axis=1) > 0.99
    assert axis_aligned.mean() < 0.35


def test_mid_side_nodes_interpolate_quadratic_field_exactly(phantom_mesh):
    _, mesh = phantom_mesh
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    b = rng.normal(size=3)

    def f(x):
        return np.einsum("...i,ij,...j->...", x, a, x) + x @ b

    xi = rng.dirichlet(np.ones(4), size=7)[:, 1:]
    sel = mesh.elements[:500]
    vals = f(mesh.nodes_mm[sel])  # (e, 10)
    interp = np.einsum("qa,ea->eq", shape_functions(xi), vals)
    exact = f(physical_points(mesh.nodes_mm, sel, xi))
    np.testing.assert_allclose(interp, exact, rtol=1e-9, atol=1e-7)
    # and the conversion itself: in gmsh order the same check fails
    wrong = np.argsort(GMSH_TO_VTK)
    interp_wrong = np.einsum("qa,ea->eq", shape_functions(xi), vals[:, wrong])
    assert not np.allclose(interp_wrong, exact, rtol=1e-6)
    mids = mesh.nodes_mm[sel[:, 4:]]
    np.testing.assert_allclose(mids, mesh.nodes_mm[sel[:, EDGES]].mean(axis=2), atol=1e-9)


def test_inverted_element_detected(phantom_mesh):
    _, mesh = phantom_mesh
    bad = mesh.elements[:3].copy()
    bad[0, [1, 2]] = bad[0, [2, 1]]
    bad[0, [4, 6, 8, 9]] = bad[0, [6, 4, 9, 8]]
    from vertfem.errors import InvertedElementError

    with pytest.raises(InvertedElementError, match="non-positive Jacobian"):
        check_jacobians(mesh.nodes_mm, bad)


def test_mask_too_small_for_mesh_size():
    img = render_phantom(PhantomSpec(width_mm=6, depth_mm=5, height_mm=5, endplate_concavity_mm=0.2, texture=False),
                         spacing_mm=0.5)
    surf = mask_to_surface(img.body_mask, img.geometry)
    with pytest.raises(MaskTooSmallError, match="smaller mesh_size_mm"):
        tetrahedralize(surf, mesh_size_mm=4.0)


def test_gmsh_failure_is_a_meshing_error(phantom_mesh):
    surf, _ = phantom_mesh
    broken = Surface(surf.points_mm, surf.triangles[:-40])
    with pytest.raises(MeshingError, match="gmsh"):
        tetrahedralize(broken, mesh_size_mm=2.0)


def test_open_surface_is_rejected(phantom_mesh):
    surf, _ = phantom_mesh
    broken = Surface(surf.points_mm, surf.triangles[:-40])
    with pytest.raises(NonManifoldSurfaceError, match="open edges"):
        cut_surface(broken, surf.points_mm.mean(axis=0) + np.array([0, 0, 100.0]), np.array([0, 0, -1.0]))


def test_flat_cut_gives_planar_endplates(phantom_mesh):
    surf, _ = phantom_mesh
    top = surf.points_mm[:, 2].max()
    cut = cut_surface(surf, np.array([0, 0, top - 3.0]), np.array([0, 0, -1.0]))
    assert cut.points_mm[:, 2].max() == pytest.approx(top - 3.0, abs=1e-6)
    assert cut.volume_mm3 < surf.volume_mm3


def _sigpipe_ignored() -> bool:
    with open("/proc/self/status") as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigIgn"))
    return bool(mask >> (signal.SIGPIPE - 1) & 1)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the signal mask from Linux's /proc")
@pytest.mark.parametrize("in_thread", [False, True])
def test_meshing_leaves_sigpipe_ignored(in_thread):
    """gmsh.initialize resets SIGPIPE to 'terminate'; a study's parent writing to a dead worker was killed by it."""
    run = lambda: box_mesh((4.0, 4.0, 4.0), mesh_size_mm=2.0)  # noqa: E731
    if in_thread:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    else:
        run()
    assert _sigpipe_ignored()
