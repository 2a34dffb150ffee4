"""Tensors in result.vtu, read back by VTK's own reader and ParaView's "Tensor Principal Invariants" filter.

The reference is VTK (``vtkXMLUnstructuredGridReader`` + ``vtkTensorPrincipalInvariants``, the filter behind
ParaView's menu item): its principal values must equal vertfem's to 1e-9, and its principal directions must be
the eigenvectors of the frame tensor rotated into scanner axes. The vertebra's frame is tilted against the scanner
(a generic rotation plus an offset), so a tensor left in frame axes, or written in vertfem's own component order
(xx, yy, zz, yz, xz, xy), is caught; the last test shows that the wrong order is caught.
"""

from dataclasses import replace

import numpy as np
import pytest
from helpers import box_vertebra
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkFiltersTensor import vtkTensorPrincipalInvariants
from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridReader

from vertfem.solvers import axial_compression, solve_load_case
from vertfem.vertebra import VertebralFrame

# vertfem's Voigt order of tensor (not engineering) components in FEResult.fields / .nodal
VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


def rotation(axis, angle_deg):
    """Rodrigues' rotation matrix."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    a = np.radians(angle_deg)
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx


def full(voigt):
    t = np.empty((*voigt.shape[:-1], 3, 3))
    for k, (i, j) in enumerate(VOIGT):
        t[..., i, j] = t[..., j, i] = voigt[..., k]
    return t


@pytest.fixture(scope="module")
def tilted(tmp_path_factory):
    """A heterogeneous box whose frame is tilted 37° about a skew axis and moved, solved and saved."""
    box = box_vertebra(size=(12.0, 10.0, 16.0), h=4.0, E_field=lambda c: 400.0 + 80.0 * c[:, 0] + 30.0 * c[:, 1])
    q = rotation((0.3, -0.5, 0.8), 37.0)
    centre = np.array([6.0, 5.0, 8.0])
    origin = np.array([-112.0, 48.5, 1210.0])
    fr = box.frame
    frame = VertebralFrame(tuple(origin), tuple(q[:, 2]), tuple(q[:, 1]), tuple(q[:, 0]), fr.inferior_mm,
                           fr.superior_mm)
    mesh = replace(box, nodes_mm=origin + (box.nodes_mm - centre) @ q.T, frame=frame)
    res = solve_load_case(mesh, axial_compression(mesh.height_mm))
    paths = res.save(tmp_path_factory.mktemp("vtu_tensors"))
    return res, q, paths["vtu"]


def principal_invariants():
    """The filter with the two tensor arrays ticked, as in ParaView's panel."""
    filt = vtkTensorPrincipalInvariants()
    for name in ("stress_MPa", "strain"):
        filt.GetCellDataArraySelection().EnableArray(name)
        filt.GetPointDataArraySelection().EnableArray(name)
    return filt


def vtk_principal(vtu):
    """Cell and point data after VTK's reader and vtkTensorPrincipalInvariants, as numpy arrays."""
    reader = vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(vtu))
    filt = principal_invariants()
    filt.SetInputConnection(reader.GetOutputPort())
    filt.Update()
    out = filt.GetOutput()

    def arrays(data):
        return {data.GetArrayName(i): vtk_to_numpy(data.GetArray(i)) for i in range(data.GetNumberOfArrays())}

    return arrays(out.GetCellData()), arrays(out.GetPointData())


def test_principal_values_equal_vertfems(tilted):
    res, _, vtu = tilted
    cell, point = vtk_principal(vtu)
    for name, ours in (("stress_MPa", res.fields["principal_stress_MPa"]), ("strain", res.fields["principal_strain"])):
        theirs = np.column_stack([cell[f"{name} - Sigma {k}"] for k in (1, 2, 3)])
        assert np.abs(ours).max() > 0.0
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-9 * np.abs(ours).max())
    # nodal (L2-projected) tensors: against the eigenvalues of the frame tensors, computed here
    nodal = np.linalg.eigvalsh(full(res.nodal["stress_MPa"]))[:, ::-1]
    theirs = np.column_stack([point[f"stress_MPa - Sigma {k}"] for k in (1, 2, 3)])
    np.testing.assert_allclose(theirs, nodal, rtol=0, atol=1e-9 * np.abs(nodal).max())


def test_principal_directions_are_frame_eigenvectors_in_scanner_axes(tilted):
    res, q, vtu = tilted
    cell, _ = vtk_principal(vtu)
    vals, vecs = np.linalg.eigh(full(res.fields["stress_MPa"]))
    vals, vecs = vals[:, ::-1], vecs[:, :, ::-1]  # descending, like VTK's Sigma 1..3
    scanner = np.einsum("ij,ejk->eik", q, vecs)  # frame → scanner: columns of q are the frame axes
    gaps = np.minimum(vals[:, 0] - vals[:, 1], vals[:, 1] - vals[:, 2])
    distinct = gaps > 1e-6 * np.abs(vals).max()
    assert distinct.mean() > 0.9
    for k in range(3):
        theirs = cell[f"stress_MPa - Sigma {k + 1} (Vector)"]
        cos = np.abs(np.einsum("ei,ei->e", theirs, scanner[:, :, k]))
        assert np.all(cos[distinct] > 1 - 1e-9), f"Sigma {k + 1}: worst |cos| {cos[distinct].min():.12f}"
    # and physically: under axial compression the most compressive direction is the tilted cranial axis
    sigma3 = cell["stress_MPa - Sigma 3 (Vector)"]
    assert np.median(np.abs(sigma3 @ q[:, 2])) > 0.99


def test_wrong_component_order_would_be_caught(tilted, tmp_path):
    """vertfem's own order written as if it were VTK's: VTK's principal values are then off."""
    res, q, vtu = tilted
    reader = vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(vtu))
    reader.Update()
    grid = reader.GetOutput()
    t = np.einsum("ij,ejk,lk->eil", q, full(res.fields["stress_MPa"]), q)
    wrong = np.column_stack([t[:, i, j] for i, j in VOIGT])
    arr = numpy_to_vtk(np.ascontiguousarray(wrong), deep=True)
    arr.SetName("stress_MPa")
    grid.GetCellData().AddArray(arr)
    filt = principal_invariants()
    filt.SetInputData(grid)
    filt.Update()
    theirs = vtk_to_numpy(filt.GetOutput().GetCellData().GetArray("stress_MPa - Sigma 3"))
    assert np.abs(theirs - res.fields["principal_stress_MPa"][:, 2]).max() > 0.05 * np.abs(theirs).max()
