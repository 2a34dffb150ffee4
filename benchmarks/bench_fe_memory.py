"""Large-model benchmark: the bundled L1 meshed finely, solved, with time and peak memory per run.

Each model runs in its own process so that the reported peak resident memory
(``ru_maxrss``) belongs to that model alone. Defaults: 1.25 mm (≈ 0.5 M DOF)
with the direct solver forced and with ``solver="auto"``, and 1 mm
(≈ 0.84 M DOF) with ``solver="auto"`` (P2 → P1 multigrid CG) and with AMG-CG.

Run: ``python benchmarks/bench_fe_memory.py [--runs 1.25:pardiso 1.25:auto 1.0:auto 1.0:cg-amg]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _one(mesh_size: float, solver: str) -> dict:
    import vertfem as vf
    from vertfem.solvers import SolveOptions, axial_compression, solve_load_case

    p = vf.example_paths()
    v = vf.prepare_vertebra(p["ct"], p["labels"], "L1", kernel="B40f")
    t = time.perf_counter()
    mesh = vf.mesh_vertebra(v, mesh_size_mm=mesh_size)
    t_mesh = time.perf_counter() - t
    res = solve_load_case(mesh, axial_compression(mesh.height_mm), SolveOptions(solver=solver, nodal_fields=False))
    return {
        "mesh_size_mm": mesh_size, "n_elements": mesh.n_elements, "n_dofs": 3 * mesh.n_nodes,
        "mesh_s": t_mesh, **{f"{k}_s": v for k, v in res.timings_s.items()},
        "solver": res.solver["solver"], "iterations": res.solver["iterations"],
        "stiffness_N_per_mm": res.stiffness_N_per_mm,
        "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", nargs="*", default=["1.25:pardiso", "1.25:auto", "1.0:auto", "1.0:cg-amg"],
                    help="MESH_SIZE:SOLVER pairs")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        size, solver = args.child.split(":")
        print(json.dumps(_one(float(size), solver)))
        return
    for run in args.runs:
        out = subprocess.run([sys.executable, __file__, "--child", run], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        its = f", {r['iterations']} iterations" if r["iterations"] else ""
        print(f"L1 at {r['mesh_size_mm']} mm: {r['n_elements']} TET10, {r['n_dofs']} DOFs; mesh {r['mesh_s']:.1f} s, "
              f"assembly {r['assembly_s']:.1f} s, solve {r['solve_s']:.1f} s ({r['solver']}{its}), "
              f"K {r['stiffness_N_per_mm']:.0f} N/mm, peak RSS {r['peak_rss_MB']:.0f} MB")


if __name__ == "__main__":
    main()
