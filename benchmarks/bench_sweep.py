"""Sweep throughput: the 50 scenarios of examples/budget_ldn.toml on the 2,000-parcel example region.

    .venv/bin/python benchmarks/bench_sweep.py                       # 1 and 2 local workers
    .venv/bin/python benchmarks/bench_sweep.py --workers 1 2 --dask  # and a local Dask cluster of 2
    .venv/bin/python benchmarks/bench_sweep.py --no-plans --no-plots

Each run is the real command, ``dualuse sweep ... --json``, in a fresh results
folder (nothing reused).  Printed per run: the end-to-end wall time (Python
start-up and imports included), and the phases the command reports: starting
the workers (their imports), solving the scenarios (plans written), writing
the tables, drawing the plots.  "sweep" is solving + tables + plots: the part
that more workers can speed up.  The load average is printed too: other work
on the machine slows every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def run(region: Path, sweep: Path, folder: Path, extra: list[str]) -> tuple[float, dict, pd.DataFrame]:
    """Wall time of one ``dualuse sweep --json``, its JSON report and its results table."""
    command = [sys.executable, "-c", "from dualuse.cli import main; main()", "sweep", str(region), str(sweep),
               "-o", str(folder), "--quiet", "--json", *extra]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, json.loads(done.stdout), pd.read_csv(folder / "results.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", type=Path, default=ROOT / "data" / "example_region.gpkg")
    parser.add_argument("--sweep", type=Path, default=ROOT / "examples" / "budget_ldn.toml")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="local worker counts to time")
    parser.add_argument("--dask", action="store_true", help="also time a local Dask cluster of 2 workers")
    parser.add_argument("--no-plans", action="store_true", help="pass --no-plans")
    parser.add_argument("--no-plots", action="store_true", help="pass --no-plots")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each configuration this many times and keep the fastest (a busy machine adds noise)")
    args = parser.parse_args()

    flags = (["--no-plans"] if args.no_plans else []) + (["--no-plots"] if args.no_plots else [])
    runs = [(f"{n} local worker{'s' if n > 1 else ''}", ["--workers", str(n)]) for n in args.workers]
    if args.dask:
        runs.append(("Dask LocalCluster, 2 workers", ["--dask-local", "2"]))
    print(f"region {args.region.name}, sweep {args.sweep.name}, options {' '.join(flags) or '(plans and plots)'}; "
          f"{os.cpu_count()} cores; load average before {os.getloadavg()[0]:.2f}")
    first: tuple[float, float] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for k, (label, extra) in enumerate(runs):
            trials = [run(args.region, args.sweep, Path(tmp) / f"run{k}-{r}", extra + flags)
                      for r in range(max(args.repeat, 1))]
            wall, report, rows = min(trials, key=lambda trial: trial[0])
            t = report["timings"]
            sweep = t["solve_s"] + t["write_s"] + t["plots_s"]
            first = first or (wall, sweep)
            counts = ", ".join(f"{n} {s}" for s, n in rows["status"].value_counts().sort_index().items())
            print(f"{label}: {len(rows)} scenarios ({counts}), {rows['solve_s'].mean():.2f} s each in a worker"
                  + (f"; fastest of {args.repeat} runs" if args.repeat > 1 else ""))
            print(f"    end to end {wall:6.1f} s  = start-up and imports {wall - sweep - t['start_workers_s']:4.1f} s"
                  f" + workers {t['start_workers_s']:4.1f} s + sweep {sweep:5.1f} s (solve {t['solve_s']:5.1f},"
                  f" tables {t['write_s']:.1f}, plots {t['plots_s']:4.1f})")
            print(f"    speed-up over the first run: sweep {first[1] / sweep:.2f}x, end to end {first[0] / wall:.2f}x")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
