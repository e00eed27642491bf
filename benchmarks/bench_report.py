"""Benchmark ``dualuse report``: seconds per figure, the map above all, and the size of the HTML.

Makes a region with ``dualuse example``, solves it with ``dualuse solve``
(both in their own processes, skipped when the plan is already there), then
writes the report in a fresh process and prints what each stage took.

    python benchmarks/bench_report.py                        # 100,000 parcels (solve: a few minutes)
    python benchmarks/bench_report.py --parcels 2000
    python benchmarks/bench_report.py --plan /tmp/plan.gpkg  # an existing plan
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The report's own limits: the map of a 100,000-parcel plan in under 30 s, the HTML under 10 MB.
MAP_LIMIT_S = 30.0
HTML_LIMIT_MB = 10.0
#: Budget per parcel of the example regions: the default scenario's USD 60 M for the 2,000-parcel example.
USD_PER_PARCEL = 30_000.0

_MEASURE = """
import json, resource, sys, time
t0 = time.perf_counter()
from dualuse.report.html import write_report
report = write_report(sys.argv[1], sys.argv[2])
total = time.perf_counter() - t0
print(json.dumps({"seconds": report.seconds, "total_s": total,
                  "html_bytes": report.html.stat().st_size,
                  "pngs": {p.name: p.stat().st_size for p in report.pngs},
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _dualuse(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from dualuse.cli import main; main()", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def make_plan(folder: Path, parcels: int, seed: int, budget_usd: float) -> tuple[Path, dict[str, float]]:
    """The plan of an example region of ``parcels`` parcels, made (and timed) unless already in ``folder``."""
    region = folder / f"region_{parcels}.gpkg"
    plan = folder / f"plan_{parcels}.gpkg"
    times: dict[str, float] = {}
    if not region.exists():
        times["example_s"] = _dualuse("example", "--parcels", str(parcels), "--seed", str(seed), "-o", str(region))
    if not plan.exists():
        times["solve_s"] = _dualuse("solve", str(region), "-o", str(plan), "--set", f"budget_usd={budget_usd:.0f}")
    return plan, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=100_000, help="parcels of the example region")
    parser.add_argument("--seed", type=int, default=42, help="seed of the example region")
    parser.add_argument("--budget-usd", type=float, default=None,
                        help="budget of the solve [USD]  [default: USD 30,000 per parcel, the example's USD 60 M "
                             "for 2,000 parcels scaled to the region's size]")
    parser.add_argument("--plan", type=Path, default=None, help="report on this plan instead of making one")
    parser.add_argument("--folder", type=Path, default=None,
                        help="where regions, plans and reports go (kept, so a second run skips the solve)  "
                             "[default: a temporary folder]")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench_report_"))
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, float] = {}
    plan = args.plan
    if plan is None:
        budget = args.budget_usd if args.budget_usd is not None else USD_PER_PARCEL * args.parcels
        plan, made = make_plan(folder, args.parcels, args.seed, budget)
    out = folder / f"{plan.stem}_report.html"
    run = subprocess.run([sys.executable, "-c", _MEASURE, str(plan), str(out)], check=True, capture_output=True,
                         text=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result.update({"plan": str(plan), "html": str(out), **made})
    if args.json:
        print(json.dumps(result))
        return
    seconds = result["seconds"]
    print(f"plan {plan} -> {out}")
    for key, value in made.items():
        print(f"  {key:<12} {value:8.1f} s   (making the plan, not the report)")
    for key, value in seconds.items():
        print(f"  {key:<12} {value:8.2f} s")
    print(f"  {'total':<12} {result['total_s']:8.2f} s   (imports included), peak memory {result['peak_mb']:,.0f} MB")
    print(f"  map          {seconds['map_s']:8.2f} s   (limit {MAP_LIMIT_S:.0f} s)")
    print(f"  HTML         {result['html_bytes'] / 1e6:8.2f} MB  (limit {HTML_LIMIT_MB:.0f} MB)")
    for name, size in result["pngs"].items():
        print(f"    {name:<40} {size / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
