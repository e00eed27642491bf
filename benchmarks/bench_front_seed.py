"""What seeding saves on a trade-off front: the same front traced with and without its neighbours' duals.

    python benchmarks/bench_front_seed.py --region /tmp/r100000.gpkg --points 11 --generic

Traces the front of ``access`` against ``productivity`` (the benchmark scenario of ``bench_scale.py``, with
``--parcels`` the size of the example region written when no ``--region`` is given) as
:func:`dualuse.studies.pareto.run_pareto` does, on one worker thread, so that every solve's CPU time is its own:
first without seeds (every structured solve estimates its duals on a sample), then seeded (each ε point but
the first of its chain starts from the coupling duals of the one before it along the front).  With
``--generic``, the same front again with ``lp_method = "generic"``: the whole LP to HiGHS's interior point,
the path every front point took while a front's objective and ε-row went through Pyomo's compiler.
Prints per solve its role, ε, the worker's CPU seconds on each run, the rounds of the structured solve,
whether it was seeded, and whether each run gives the unseeded run's objective and front KPIs (to 1e-9
relative).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MAXIMISE, AGAINST = "access", "productivity"
SAME = 1e-9


def trace(region: Any, catalogue: Any, scenario: Any, points: int, seed: bool) -> dict[str, Any]:
    """Trace the front (:func:`dualuse.studies.pareto.trace_front`, as ``run_pareto`` does): every solve's
    role, ε and row in the order solved, and the front's wall and CPU time."""
    from dualuse.studies.pareto import open_front, trace_front

    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=1) as executor:
        with open_front(region, catalogue, None, scenario, None, False, executor, points + 2, False, seed) as solves:
            trace_front(solves, MAXIMISE, AGAINST, points)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{scenario.lp_method} path, {'seeded' if seed else 'unseeded'}: {wall:.1f} s wall, {cpu:.1f} s CPU",
          file=sys.stderr, flush=True)
    return {"solves": [(role, eps, row) for role, eps, _, row in solves.solved], "wall_s": wall, "cpu_s": cpu}


def same(a: dict, b: dict) -> bool:
    """The same objective and front KPIs, to :data:`SAME` relative."""
    return all(abs(a[k] - b[k]) <= SAME * max(1.0, abs(b[k])) for k in ("objective", MAXIMISE, AGAINST))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", help="a region GeoPackage [default: the example region of --parcels]")
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=11)
    parser.add_argument("--generic", action="store_true", help="also trace the front on the generic path")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_scale import scenario_values

    from dualuse.inputs.catalogue import load_catalogue
    from dualuse.inputs.region import read_region
    from dualuse.inputs.scenario import make_scenario
    from dualuse.prepare.example import write_example
    from dualuse.studies.executor import CHAIN_LENGTH

    with tempfile.TemporaryDirectory(prefix="bench-front-seed-") as tmp:
        path = Path(args.region) if args.region else Path(tmp) / "region.gpkg"
        if not args.region:
            write_example(path, parcels=args.parcels, seed=42)
        region, catalogue = read_region(path), load_catalogue()
        values = scenario_values(region.n_parcels)
        runs = {"unseeded": trace(region, catalogue, make_scenario(values), args.points, False),
                "seeded": trace(region, catalogue, make_scenario(values), args.points, True)}
        if args.generic:
            runs["generic"] = trace(region, catalogue, make_scenario({**values, "lp_method": "generic"}),
                                    args.points, False)
    report(runs, region.n_parcels, args.points, CHAIN_LENGTH)


def report(runs: dict[str, dict], parcels: int, points: int, chain: int) -> None:
    """The table per solve, in the order solved, and the totals."""
    names = list(runs)
    base, seeded = runs["unseeded"]["solves"], runs["seeded"]["solves"]
    print(f"{parcels:,} parcels, front of {MAXIMISE} against {AGAINST}, {points} points ({points + 2} solves), "
          f"chains of {chain}; {platform.node()}, {platform.processor() or platform.machine()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| solve | ε | " + " | ".join(f"{n}: CPU [s] | rounds" for n in names) + " | seeded | "
          + " | ".join(f"{n} = unseeded" for n in names[1:]) + " |")
    print("|---|---:|" + "---:|---:|" * len(names) + "---|" + "---|" * (len(names) - 1))
    totals = {n: {"all": 0.0, "seeded": 0.0} for n in names}
    for k, (role, eps, row) in enumerate(base):
        cells = []
        for n in names:
            other = runs[n]["solves"][k][2]
            cells.append(f"{other['solve_cpu_s']:.2f} | {other.get('structured_rounds', 0)}")
            totals[n]["all"] += other["solve_cpu_s"]
            totals[n]["seeded"] += other["solve_cpu_s"] if seeded[k][2]["seeded"] else 0.0
        agree = [row["status"] != "optimal" or same(runs[n]["solves"][k][2], row) for n in names[1:]]
        print(f"| {role} | {eps:.9g} | " + " | ".join(cells) + f" | {'yes' if seeded[k][2]['seeded'] else 'no'} | "
              + " | ".join("yes" if a else "NO" for a in agree) + " |")
    count = sum(bool(row["seeded"]) for _, _, row in seeded)
    print()
    for n in names:
        t = totals[n]
        print(f"{n}: front {runs[n]['wall_s']:.1f} s wall, {runs[n]['cpu_s']:.1f} s CPU; solves {t['all']:.1f} s CPU "
              f"({t['all'] / len(base):.2f} s per solve); the {count} seeded points {t['seeded']:.1f} s CPU "
              f"({t['seeded'] / max(count, 1):.2f} s per point)")
    u, s = totals["unseeded"], totals["seeded"]
    print(f"seeding: a seeded point takes {s['seeded'] / u['seeded']:.2f}x the CPU it takes unseeded "
          f"({1 - s['seeded'] / u['seeded']:.0%} less); the front's solves {s['all'] / u['all']:.2f}x "
          f"({1 - s['all'] / u['all']:.0%} less)")
    if "generic" in totals:
        g = totals["generic"]
        print(f"generic path: the front's solves take {g['all'] / u['all']:.2f}x the CPU of the structured path's "
              f"unseeded, {g['all'] / s['all']:.2f}x seeded")


if __name__ == "__main__":
    main()
