"""Nonlinear strength benchmark on the bundled L1: time, memory, iterations, and the ratio to CalculiX.

Prints, for the elastic–plastic analysis to 2 % apparent strain (default bone
model and options) of the bundled L1 at ``--mesh-size`` (2 mm: 132 k free
DOF): wall and CPU time, peak memory (VmHWM of a fresh process), and per
step the load factor, force, Newton iterations, CG iterations of each linear
solve and the number of yielded elements. Then the CalculiX comparison on the
same TET10 deck (moduli binned to 1 %, von Mises σy = 0.77 %·E per bin, 5 %
post-yield modulus, 10 increments): both times, their ratio and the largest
force difference over the increments. ``--memory-mesh-size 1.25`` repeats
the analysis on a finer model in a fresh process and reports its peak memory.

The VM this was developed on is shared: wall times vary with the load of
other processes, so CPU times are printed as well.

Run: ``python benchmarks/bench_nonlinear.py [--mesh-size 2] [--no-ccx] [--memory-mesh-size 1.25]``
(CalculiX at 2 mm takes tens of minutes; ``--ccx-mesh-size 3`` for a quicker ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import vertfem as vf
from vertfem.meshing.export import material_bins
from vertfem.solvers import axial_compression
from vertfem.solvers.calculix import read_calculix_totals, run_calculix, write_calculix_plastic_deck
from vertfem.solvers.nonlinear import NonlinearOptions, solve_nonlinear
from vertfem.solvers.plasticity import von_mises_material


def l1_mesh(mesh_size_mm: float):
    """The bundled L1 (kernel B40f), meshed: the one place that calls the front door."""
    p = vf.example_paths()
    return vf.mesh_vertebra(vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f"), mesh_size_mm=mesh_size_mm)


def _child(mesh_size_mm: float) -> None:
    """Run one analysis in this (fresh) process and print a JSON line with times, iterations and peak memory."""
    mesh = l1_mesh(mesh_size_mm)
    t, c = time.perf_counter(), time.process_time()
    res = solve_nonlinear(mesh, axial_compression(mesh.height_mm), NonlinearOptions())
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    hwm = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024
    steps = [{"load_factor": s["load_factor"], "newton": s["newton_iterations"], "cg": s["cg_iterations"],
              "plastic": s.get("n_plastic_elements"), "time_s": s.get("time_s")} for s in res.steps]
    print("RESULT " + json.dumps({
        "mesh_size_mm": mesh_size_mm, "n_elements": mesh.n_elements, "n_free_dofs": res.solver["n_free_dofs"],
        "wall_s": wall, "cpu_s": cpu, "peak_rss_MB": hwm, "row": res.row(), "timings_s": res.timings_s,
        "solver": res.solver, "steps": steps, "force_N": res.force_N.tolist(),
        "strain": res.apparent_strain.tolist(),
    }, default=float))


def _fresh(mesh_size_mm: float) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(mesh_size_mm)], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.split("RESULT ", 1)[1])


def _report(r: dict) -> None:
    row = r["row"]
    print(f"L1 {r['mesh_size_mm']:g} mm: {r['n_elements']} TET10, {r['n_free_dofs']} free DOF")
    print(f"  wall {r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s, peak RSS {r['peak_rss_MB']:.0f} MB "
          f"(timings: {', '.join(f'{k} {v:.1f} s' for k, v in r['timings_s'].items())})")
    print(f"  strength {row['strength_nonlinear_N']:.1f} N at {100 * row['apparent_strain_at_strength']:.2f} %, "
          f"0.2 %-offset yield {row['yield_force_N']:.1f} N, linear 2 % {row['strength_linear_same_strain_N']:.1f} N, "
          f"ratio {row['strength_nonlinear_to_linear']:.3f}")
    print(f"  {row['n_steps']} steps, {row['n_newton_iterations']} Newton iterations, {row['n_cg_iterations']} CG "
          f"iterations, {r['solver']['n_preconditioner_setups']} multigrid set-ups")
    print("  step  load factor  force (N)  Newton  CG per solve         yielded elements  time (s)")
    for i, (s, f) in enumerate(zip(r["steps"], r["force_N"][1:])):
        t = "" if s["time_s"] is None else f"{s['time_s']:.1f}"
        print(f"  {i:4d}  {s['load_factor']:11.4f}  {f:9.1f}  {s['newton']:6d}  {s['cg']!s:20s} "
              f"{s['plastic'] if s['plastic'] is not None else '':>16}  {t:>8}")


def _ccx_ratio(mesh_size_mm: float) -> None:
    mesh = l1_mesh(mesh_size_mm)
    bins, e_bin = material_bins(mesh.E_MPa, rel_tol=0.01)
    e = e_bin[bins]
    mesh = mesh.with_materials(E_MPa=e)
    mat = von_mises_material(e, mesh.poisson_ratio, 0.0077 * e, hardening_MPa=e * 0.05 / 0.95)
    lc = axial_compression(mesh.height_mm)
    t = time.perf_counter()
    res = solve_nonlinear(mesh, lc, NonlinearOptions(n_steps=10), material=mat)
    t_ours = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        deck, names = write_calculix_plastic_deck(mesh, lc, mat, os.path.join(d, "l1.inp"), n_increments=10)
        t = time.perf_counter()
        run_calculix(deck, timeout_s=6 * 3600)
        t_ccx = time.perf_counter() - t
        times, totals = read_calculix_totals(deck.with_suffix(".dat"))
    ccx = -totals[f"RS{names.index('superior')}"][:, 2]
    ours = res.force_N[np.searchsorted(res.load_factor, times - 1e-12)]
    print(f"CalculiX on the same deck (L1 {mesh_size_mm:g} mm, {len(np.unique(bins))} material bins, von Mises):")
    print(f"  vertfem {t_ours:.1f} s ({res.solver['n_newton_iterations']} Newton, {res.solver['n_cg_iterations']} CG), "
          f"ccx {t_ccx:.1f} s: ratio {t_ours / t_ccx:.3f}")
    print(f"  force at 2 %: {ours[-1]:.1f} N vs {ccx[-1]:.1f} N; max |ΔF|/F over {len(times)} increments "
          f"{np.abs(ours / ccx - 1).max():.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mesh-size", type=float, default=2.0)
    ap.add_argument("--ccx-mesh-size", type=float, default=None, help="default: --mesh-size")
    ap.add_argument("--no-ccx", action="store_true")
    ap.add_argument("--memory-mesh-size", type=float, default=None)
    ap.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        _child(args.child)
        return
    _report(_fresh(args.mesh_size))
    if args.memory_mesh_size:
        _report(_fresh(args.memory_mesh_size))
    if not args.no_ccx and shutil.which("ccx"):
        _ccx_ratio(args.ccx_mesh_size or args.mesh_size)


if __name__ == "__main__":
    main()
