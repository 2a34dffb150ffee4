"""FE pipeline benchmark on the bundled CT: the stage breakdown of ``vertfem analyze``, sweeps, all levels.

Prints, in this order:

1. the stages of one L1 analysis in-process (read + prepare, endplates,
   surface, gmsh, material mapping, vBMD beside meshing, assembly, solver
   set-up and iterations, post-processing with the per-region values, writing);
2. fresh ``vertfem analyze`` processes on the bundled L1 (``--runs``, default
   5): wall time of each, the median and the spread, and the peak memory;
3. a 4-case sweep (axial + flexion + extension + lateral bending) in fresh
   processes, against the single analysis (target ≤ 1.5×);
4. L1–L5 in one fresh process against one level (target ≤ 4×);
5. the solvers on the 2 mm L1 system (P2 → P1 multigrid CG, mixed/double
   PARDISO, Jacobi-CG) and vertfem's vectorised assembly against scikit-fem's
   generic ``asm`` (``--solvers``; slow).

The machine is shared and its speed varies between periods (up to 1.7× on
this VM); the wall times of fresh processes are reported with their spread,
and a ``load`` column (1-minute load average at the start of each run) says
how busy the machine was.

Run: ``python benchmarks/bench_fe.py [--runs 5] [--mesh-size 2] [--solvers]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

import vertfem as vf
from vertfem.analysis import analyze
from vertfem.meshing import mesh_vertebra
from vertfem.solvers import SolveOptions, axial_compression, solve_load_case
from vertfem.solvers.assembly import assemble_stiffness

# as vertfem.cli.run, plus the peak RSS: VmHWM belongs to the new address space, whereas ru_maxrss of the
# children would carry the forking parent's peak over exec
_CLI = ("import os, re, sys; from vertfem.cli import main; rc = main(sys.argv[1:]); "
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
        "print('RSS_MB', int(hwm) / 1024); sys.stdout.flush(); os._exit(rc)")


def _cli(*args: str) -> tuple[float, float, float]:
    """Wall time (s), peak RSS (MB) and the load average at the start of a fresh ``vertfem analyze`` process."""
    p = vf.example_paths()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _CLI, "analyze", str(p["ct"]), str(p["labels"]), "--kernel",
                              "B40f", *args, "-o", d], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t
    return wall, float(out.stdout.split("RSS_MB")[-1].split()[0]), load


def _runs(label: str, n: int, *args: str) -> list[float]:
    runs = [_cli(*args) for _ in range(n)]
    walls = [w for w, _, _ in runs]
    print(f"{label}: wall " + " / ".join(f"{w:.2f}" for w in walls)
          + f" s → median {np.median(walls):.2f} s, spread {min(walls):.2f}–{max(walls):.2f} s; "
          f"peak RSS {max(r for _, r, _ in runs):.0f} MB; load " + " / ".join(f"{x:.1f}" for _, _, x in runs))
    return walls


def _stages(mesh_size: float) -> None:
    p = vf.example_paths()
    t0 = time.perf_counter()
    v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    t_prep = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        a = analyze(v, fe_options={"mesh_size_mm": mesh_size}, outdir=d)
        wall = time.perf_counter() - t
    fe = a.fe
    print(f"L1 at {mesh_size} mm: {fe.mesh.n_elements} TET10, {fe.mesh.n_nodes} nodes, {fe.solver['n_free_dofs']} "
          f"free DOFs; K = {fe.stiffness_N_per_mm:.0f} N/mm, strength {fe.strength_N:.0f} N")
    print(f"  read + prepare {t_prep:.2f} s, analyze {wall:.2f} s; stages (s; vBMD runs beside meshing):")
    for k, x in a.timings_s.items():
        print(f"    {k:<26} {x:6.2f}")
    print(f"    solver {fe.solver['solver']}: set-up {fe.solver['setup_time_s']:.2f} s, "
          f"{fe.solver['iterations']} iterations {fe.solver['time_s']:.2f} s")


def _solvers(mesh_size: float) -> None:
    p = vf.example_paths()
    v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    mesh = mesh_vertebra(v, mesh_size_mm=mesh_size)
    local = mesh.frame.to_local(mesh.nodes_mm)
    assemble_stiffness(local, mesh.elements, mesh.E_MPa, 0.3)
    t = time.perf_counter()
    assemble_stiffness(local, mesh.elements, mesh.E_MPa, 0.3)
    t_asm = time.perf_counter() - t
    import skfem
    from skfem.models.elasticity import lame_parameters, linear_elasticity

    verts = np.unique(mesh.elements[:, :4])
    m = skfem.MeshTet(mesh.nodes_mm[verts].T, np.searchsorted(verts, mesh.elements[:, :4]).T)
    basis = skfem.Basis(m, skfem.ElementVector(skfem.ElementTetP2()), intorder=2)
    e = basis.with_element(skfem.ElementTetP0()).interpolate(mesh.E_MPa)
    t = time.perf_counter()
    skfem.asm(linear_elasticity(*lame_parameters(e, 0.3)), basis)
    t_sk = time.perf_counter() - t
    print(f"assembly: vertfem {t_asm:.2f} s, scikit-fem asm {t_sk:.2f} s → {t_sk / t_asm:.1f}×")
    ref = None
    for name, opts in (("cg-pmg", {"solver": "cg-pmg"}), ("pardiso mixed", {"solver": "pardiso"}),
                       ("pardiso double", {"solver": "pardiso", "precision": "double"}),
                       ("cg-jacobi", {"solver": "cg-jacobi"})):
        r = solve_load_case(mesh, axial_compression(mesh.height_mm), SolveOptions(nodal_fields=False, **opts))
        ref = ref or r.stiffness_N_per_mm
        print(f"  {name:<15} set-up {r.solver['setup_time_s']:.2f} s, solve {r.solver['time_s']:.2f} s "
              f"({r.solver['iterations']} iterations), K differs by {abs(r.stiffness_N_per_mm / ref - 1):.1e}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mesh-size", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--solvers", action="store_true", help="also time the solvers and the assembly against skfem")
    args = ap.parse_args()
    _stages(args.mesh_size)
    size = ("--mesh-size-mm", str(args.mesh_size))
    one = _runs("vertfem analyze L1 (fresh processes)", args.runs, "--vertebra", "L1", *size)
    sweep = _runs("vertfem analyze L1, 4-case sweep", max(2, args.runs // 2), "--vertebra", "L1", *size, "--sweep",
                  "flexion", "extension", "lateral_bending_right")
    levels = _runs("vertfem analyze L1-L5 (S1 refused)", max(2, args.runs // 2), "--vertebra", "L1-L5", *size)
    print(f"ratios of medians: sweep / one = {np.median(sweep) / np.median(one):.2f} (target ≤ 1.5), "
          f"L1–L5 / one = {np.median(levels) / np.median(one):.2f} (target ≤ 4); one: {np.median(one):.2f} s "
          "(target ≤ 5.0 s)")
    if args.solvers:
        _solvers(args.mesh_size)
    print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
