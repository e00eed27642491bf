"""Sweep throughput: the 50 scenarios of examples/budget_ldn.toml on the 2,000-parcel example region.

    .venv/bin/python benchmarks/bench_sweep.py                       # 1 and 2 local workers
    .venv/bin/python benchmarks/bench_sweep.py --workers 1 2 --dask  # and a local Dask cluster of 2
    .venv/bin/python benchmarks/bench_sweep.py --no-plans --no-plots

Each run is the real command, ``dualuse sweep``, in a fresh results folder
(nothing reused), timed end to end: start-up, solves, plans, table and plots.
Printed per run: wall time, the workers' summed time per scenario, and the
speed-up over the first run.  The load average is printed too: other work on
the machine slows every figure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def run(region: Path, sweep: Path, folder: Path, extra: list[str]) -> tuple[float, pd.DataFrame]:
    """Wall time of one ``dualuse sweep`` and its results table."""
    command = [sys.executable, "-c", "from dualuse.cli import main; main()", "sweep", str(region), str(sweep),
               "-o", str(folder), "--quiet", *extra]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    return wall, pd.read_csv(folder / "results.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", type=Path, default=ROOT / "data" / "example_region.gpkg")
    parser.add_argument("--sweep", type=Path, default=ROOT / "examples" / "budget_ldn.toml")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="local worker counts to time")
    parser.add_argument("--dask", action="store_true", help="also time a local Dask cluster of 2 workers")
    parser.add_argument("--no-plans", action="store_true", help="pass --no-plans")
    parser.add_argument("--no-plots", action="store_true", help="pass --no-plots")
    args = parser.parse_args()

    flags = (["--no-plans"] if args.no_plans else []) + (["--no-plots"] if args.no_plots else [])
    runs = [(f"{n} local worker{'s' if n > 1 else ''}", ["--workers", str(n)]) for n in args.workers]
    if args.dask:
        runs.append(("Dask LocalCluster, 2 workers", ["--dask-local", "2"]))
    print(f"region {args.region.name}, sweep {args.sweep.name}, options {' '.join(flags) or '(plans and plots)'}; "
          f"{os.cpu_count()} cores; load average before {os.getloadavg()[0]:.2f}")
    first = None
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for k, (label, extra) in enumerate(runs):
            wall, rows = run(args.region, args.sweep, Path(tmp) / f"run{k}", extra + flags)
            first = first or wall
            counts = ", ".join(f"{n} {s}" for s, n in rows["status"].value_counts().sort_index().items())
            print(f"{label:30} {len(rows)} scenarios ({counts}) in {wall:6.1f} s wall; "
                  f"{rows['solve_s'].mean():.2f} s per scenario in a worker; "
                  f"speed-up {first / wall:.2f}x")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
