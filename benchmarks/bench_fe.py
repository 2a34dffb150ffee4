"""FE pipeline benchmark on the bundled L1: time per stage, and solver ratios in one run.

Prints: read/isolate/mesh/map times and element/node counts (meshing issue),
vertfem's vectorised assembly vs scikit-fem's generic ``asm`` on the same
mesh, the solvers (P2 → P1 multigrid CG, mixed/double PARDISO, Jacobi- and
AMG-CG) on the 2 mm model and on a coarser model of the size SCIENCE §6
quotes (67 k DOF), the wall time and peak memory of fresh ``vertfem analyze``
processes (``--analyze-runs``, default 3: this VM's speed varies by up to 1.7× between periods),
vertfem's solve vs SciPy's default ``spsolve`` (SuperLU) and vs CalculiX
``ccx`` on the same deck, as ratios, and the peak memory of the process.

Run: ``python benchmarks/bench_fe.py [--mesh-size 2] [--ratio-mesh-size 3]``.
SuperLU and ccx are timed on the ``--ratio-mesh-size`` model (default 3 mm),
because SuperLU needs minutes and gigabytes at 2 mm (SCIENCE §6: 248 s, 2.7 GB).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import vertfem as vf
from vertfem.meshing import mesh_vertebra
from vertfem.solvers import SolveOptions, axial_compression, solve_load_case
from vertfem.solvers.assembly import assemble_stiffness
from vertfem.solvers.calculix import run_calculix, write_calculix_deck
from vertfem.solvers.static import apply_conditions


def _timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


def _skfem_assembly(mesh) -> float:
    import skfem
    from skfem.models.elasticity import lame_parameters, linear_elasticity

    verts = np.unique(mesh.elements[:, :4])
    m = skfem.MeshTet(mesh.nodes_mm[verts].T, np.searchsorted(verts, mesh.elements[:, :4]).T)
    basis = skfem.Basis(m, skfem.ElementVector(skfem.ElementTetP2()), intorder=2)
    e = basis.with_element(skfem.ElementTetP0()).interpolate(mesh.E_MPa)
    lam_f, mu_f = lame_parameters(e, 0.3)
    _, t = _timed(skfem.asm, linear_elasticity(lam_f, mu_f), basis)
    return t


def _analyze_cli(mesh_size: float) -> tuple[float, float]:
    """Wall-clock (s) and peak RSS (MB) of a fresh ``vertfem analyze`` process on the bundled L1."""
    p = vf.example_paths()
    # as vertfem.cli.run, plus the peak RSS: VmHWM belongs to the new address space, whereas
    # ru_maxrss of the children would carry the forking parent's peak over exec
    code = ("import os, re, sys; from vertfem.cli import main; rc = main(sys.argv[1:]); "
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
            "print('RSS_MB', int(hwm) / 1024); sys.stdout.flush(); os._exit(rc)")
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code, "analyze", str(p["ct"]), str(p["labels"]), "--vertebra",
                              "L1", "--kernel", "B40f", "--mesh-size", str(mesh_size), "-o", d],
                             check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t
    rss = float(out.stdout.split("RSS_MB")[-1].split()[0])
    return wall, rss


def _solver_line(label: str, mesh, opts: SolveOptions, ref: float | None = None) -> float:
    r = solve_load_case(mesh, axial_compression(mesh.height_mm), opts)
    its = f", {r.solver['iterations']} iterations" if r.solver["iterations"] else ""
    diff = f", K differs by {abs(r.stiffness_N_per_mm / ref - 1):.1e}" if ref else ""
    print(f"  {label:<22} solve {r.timings_s['solve']:6.2f} s ({r.solver['solver']}{its}{diff})")
    return r.stiffness_N_per_mm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mesh-size", type=float, default=2.0)
    ap.add_argument("--ratio-mesh-size", type=float, default=3.0)
    ap.add_argument("--science-mesh-size", type=float, default=2.6,
                    help="a coarser L1 model of about the SCIENCE §6 size (67 k DOF), default 2.6 mm")
    ap.add_argument("--skip-skfem", action="store_true")
    ap.add_argument("--analyze-runs", type=int, default=3)
    args = ap.parse_args()
    p = vf.example_paths()
    t0 = time.perf_counter()
    v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    t_read = time.perf_counter() - t0
    mesh, t_mesh = _timed(mesh_vertebra, v, mesh_size_mm=args.mesh_size)
    print(f"L1 at {args.mesh_size} mm: {mesh.n_elements} TET10, {mesh.n_nodes} nodes, {3 * mesh.n_nodes} DOFs")
    print(f"  read+prepare {t_read:.2f} s; mesh+map {t_mesh:.2f} s: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in mesh.info["timings_s"].items()))
    local = mesh.frame.to_local(mesh.nodes_mm)
    assemble_stiffness(local, mesh.elements, mesh.E_MPa, 0.3)  # numba cache load and first touch
    _, t_asm = _timed(assemble_stiffness, local, mesh.elements, mesh.E_MPa, 0.3)
    print(f"  assembly (vertfem: affine kernel + numba CSR scatter) {t_asm:.2f} s")
    if not args.skip_skfem:
        t_sk = _skfem_assembly(mesh)
        print(f"  assembly (scikit-fem asm)      {t_sk:.2f} s  → ratio {t_sk / t_asm:.1f}x")
    res, t_all = _timed(solve_load_case, mesh, axial_compression(mesh.height_mm), SolveOptions(nodal_fields=True))
    print(f"  solve_load_case {t_all:.2f} s: " + ", ".join(f"{k} {v:.2f} s" for k, v in res.timings_s.items())
          + f"; solver {res.solver['solver']}, {res.solver['n_free_dofs']} free DOFs, "
          f"residual {res.solver['relative_residual']:.1e}")
    print(f"  stiffness {res.stiffness_N_per_mm:.0f} N/mm, strength {res.strength_N:.0f} N")
    fast = SolveOptions(nodal_fields=False)
    k_ref = _solver_line("pardiso mixed", mesh, fast.model_copy(update={"solver": "pardiso"}))
    _solver_line("pardiso double", mesh, fast.model_copy(update={"solver": "pardiso", "precision": "double"}), k_ref)
    for s in ("cg-pmg", "cg-jacobi", "cg-amg"):
        _solver_line(s, mesh, fast.model_copy(update={"solver": s}), k_ref)

    science = mesh_vertebra(v, mesh_size_mm=args.science_mesh_size)
    print(f"L1 at {args.science_mesh_size} mm ({science.n_nodes} nodes, {3 * science.n_nodes} DOFs, "
          "about the SCIENCE §6 model):")
    k_s = _solver_line("pardiso mixed", science, fast.model_copy(update={"solver": "pardiso"}))
    _solver_line("pardiso double", science, fast.model_copy(update={"solver": "pardiso", "precision": "double"}), k_s)
    for s in ("cg-pmg", "cg-jacobi"):
        _solver_line(s, science, fast.model_copy(update={"solver": s}), k_s)

    small = mesh_vertebra(v, mesh_size_mm=args.ratio_mesh_size)
    lc = axial_compression(small.height_mm)
    ours = solve_load_case(small, lc, fast)
    print(f"ratios on the {args.ratio_mesh_size} mm model ({3 * small.n_nodes} DOFs):")
    loc = small.frame.to_local(small.nodes_mm)
    k = assemble_stiffness(loc, small.elements, small.E_MPa, 0.3)
    free = np.ones(k.shape[0])
    dofs, vals, _, _ = apply_conditions(lc, loc, small)
    free[dofs] = 0
    up = np.zeros(k.shape[0])
    up[dofs] = vals
    a = (sp.diags(free) @ k @ sp.diags(free) + sp.diags(1 - free)).tocsc()
    b = free * (-(k @ up)) + up
    _, t_lu = _timed(spla.spsolve, a, b)
    print(f"  vertfem solve ({ours.solver['solver']}) {ours.timings_s['solve']:.2f} s; SciPy spsolve {t_lu:.2f} s "
          f"→ vertfem is {t_lu / ours.timings_s['solve']:.1f}x faster")
    if shutil.which("ccx"):
        with tempfile.TemporaryDirectory() as d:
            deck, _ = write_calculix_deck(small, lc, Path(d) / "job.inp")
            _, t_ccx = _timed(run_calculix, deck)
        print(f"  CalculiX ccx (SPOOLES, whole run) {t_ccx:.2f} s → vertfem solve_load_case is "
              f"{t_ccx / sum(ours.timings_s.values()):.1f}x faster")
    print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    runs = [_analyze_cli(args.mesh_size) for _ in range(args.analyze_runs)]
    walls = sorted(w for w, _ in runs)
    print(f"vertfem analyze (fresh processes, bundled L1, {args.mesh_size} mm): wall "
          + " / ".join(f"{w:.1f}" for w in walls) + f" s (median {np.median(walls):.1f} s, target < 10 s), "
          f"peak RSS {max(r for _, r in runs):.0f} MB")


if __name__ == "__main__":
    main()
