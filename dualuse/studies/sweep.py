"""Policy sweeps: many scenarios of one region, solved in parallel on one machine or a Dask cluster.

The scenarios come from a sweep file (:mod:`dualuse.studies.spec`), a
:class:`~dualuse.studies.spec.SweepSpec` or Scenario objects; they are solved
on any executor (:mod:`dualuse.studies.executor`), each through the same run
as ``dualuse solve``; with an output folder every finished scenario is stored
at once and a re-run skips it (:mod:`dualuse.studies.store`), and the plots are
drawn on the workers (:mod:`dualuse.studies.plots`).

``dualuse.sweep(region, scenarios, executor=...)`` is :func:`run_sweep`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dualuse.errors import require_extra
from dualuse.files import prepare_folder
from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import Scenario
from dualuse.progress import Progress
from dualuse.studies.executor import (
    Task,
    chains,
    describe_executor,
    execute,
    open_executor,
    share,
)
from dualuse.studies.plots import write_plots
from dualuse.studies.spec import (
    SweepSpec,
    Variation,
    input_key,
    read_input,
    read_sweep,
    variations_from,
)
from dualuse.studies.store import (
    PLANS_DIR,
    RESULTS_STEM,
    ResultStore,
    results_frame,
    write_table,
)
from dualuse.vocabulary import SWEEP_TABLE

Scenarios = SweepSpec | str | os.PathLike[str] | Mapping[str, Scenario] | Iterable[Scenario]


@dataclass
class SweepResult:
    """What a sweep produced.

    Attributes
    ----------
    rows : DataFrame — one row per scenario (the ``sweep`` table)
    varied : list of str — the varied parameters
    solved : int — scenarios solved by this run
    reused : int — scenarios whose stored result was reused
    output : Path or None — the results folder
    plots : list of Path — the PNG files written
    timings : dict — wall time [s] of reading (``read_s``), solving (``solve_s``), writing the tables
        (``write_s``) and drawing the plots (``plots_s``)
    """

    rows: pd.DataFrame
    varied: list[str]
    solved: int
    reused: int
    output: Path | None = None
    plots: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Scenarios per status."""
        return {str(k): int(v) for k, v in self.rows["status"].value_counts().sort_index().items()}


def run_sweep(region: str | os.PathLike[str] | Region, scenarios: Scenarios, executor: Executor | None = None, *,
              output: str | os.PathLike[str] | None = None,
              catalogue: str | os.PathLike[str] | Catalogue | None = None, layer: str | None = None,
              plans: bool = True, plots: bool = True, progress: bool | None = None,
              log: Callable[[str], None] | None = None, explain: bool = True, explain_time_limit_s: float | None = None
              ) -> SweepResult:
    """Solve many scenarios of one region and gather one row per scenario.

    Parameters
    ----------
    region : a region GeoPackage, or a :class:`~dualuse.inputs.region.Region` already read
    scenarios : a sweep TOML file, a :class:`SweepSpec`, a mapping name -> Scenario, or Scenarios
    executor : any :class:`concurrent.futures.Executor` [default: a local process pool, one per core]
    output : results folder; with it, each finished scenario is stored at once, a re-run skips the stored ones,
        and ``results.gpkg`` (table ``sweep``), ``results.csv``, ``plans/<id>.gpkg``, ``plots/*.png`` are written
    catalogue : land-use catalogue file or object [default: the bundled one]
    plans, plots : write each scenario's plan, and the plots (with ``output``)
    progress : show progress on stderr [default: unless quiet, :class:`dualuse.progress.Progress`]
    log : where to say what is being done (e.g. ``click.echo`` to stderr) [default: nowhere]
    explain, explain_time_limit_s : explain an infeasible scenario, within this budget [s] (as ``run_scenario``)

    Returns
    -------
    SweepResult
    """
    say = log or (lambda text: None)
    if plots and output is not None:
        require_extra("report", "drawing the sweep's plots (leave them out with --no-plots, or plots=False)")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if isinstance(scenarios, (str, os.PathLike)):
        scenarios = read_sweep(scenarios)
    region, catalogue = read_input(region, catalogue, layer)
    timings["read_s"] = time.perf_counter() - start
    variations, varied, unique = _unique_variations(scenarios, region, catalogue, say)
    folder = prepare_folder(output, [region.path]) if output is not None else None
    store = ResultStore(folder) if folder is not None else None
    want_plan = plans and folder is not None
    results = stored_results(store, unique, want_plan)
    reused = len(results)
    tasks = sweep_tasks(unique, results, want_plan, getattr(scenarios, "source", ""), explain, explain_time_limit_s)
    solving = sum(not task.seed_only for task in tasks)
    with contextlib.ExitStack() as stack:
        if executor is None and (tasks or (plots and folder is not None and varied)):
            executor = stack.enter_context(open_executor(plots=plots and folder is not None))
        start = time.perf_counter()
        if tasks:
            assert executor is not None
            say(f"{len(unique)} scenarios: {reused} already done, solving {solving} on "
                f"{describe_executor(executor)}")
            results.update(solve_tasks(tasks, region, catalogue, executor, store, len(unique), reused, progress))
        elif unique:
            say(f"{len(unique)} scenarios: all already done")
        timings["solve_s"] = time.perf_counter() - start
        frame, written_plots = write_results(folder, variations, varied, results, want_plan,
                                             executor if plots else None, timings)
    return SweepResult(rows=frame, varied=list(varied), solved=solving, reused=reused, output=folder,
                       plots=written_plots, timings=timings)


def _unique_variations(scenarios: Any, region: Region,
                       catalogue: Catalogue, say: Callable[[str], None]) -> tuple[list[Variation], Any, list[Variation]]:
    """The sweep's variations, the parameters they vary, and the variations once each (a repeat is solved once)."""
    variations, varied = variations_from(scenarios, input_key(region, catalogue))
    unique = list({v.id: v for v in variations}.values())
    if len(unique) < len(variations):
        say(f"{len(variations) - len(unique)} variation(s) repeat an earlier scenario; each is solved once")
    return variations, varied, unique


def stored_results(store: ResultStore | None, variations: Sequence[Variation],
                   want_plan: bool) -> dict[str, dict[str, Any]]:
    """The results already in the store, by id (none without a store)."""
    results: dict[str, dict[str, Any]] = {}
    if store is not None:
        for v in variations:
            stored = store.load(v.id, want_plan)
            if stored is not None:
                results[v.id] = stored
    return results


def sweep_tasks(variations: Sequence[Variation], done: Mapping[str, Any], want_plan: bool,
                source: str, explain: bool = True, explain_time_limit_s: float | None = None) -> list[Task]:
    """A task for every variation not done yet, in chains of neighbours (:func:`~dualuse.studies.executor.chains`:
    a done one is solved again, as ``seed_only``, when it seeds one that is not); each plan's ``run`` table
    names the command, sweep and scenario."""
    run = {"command": " ".join(sys.argv), "sweep_source": source}
    tasks = []
    for number, chain in enumerate(chains(len(variations), [v.id not in done for v in variations])):
        for position, seed_only in chain:
            v = variations[position]
            tasks.append(Task(id=v.id, scenario_json=v.scenario.to_json(), want_plan=want_plan and not seed_only,
                              run={**run, "sweep_name": v.name}, chain=f"chain {number}", seed_only=seed_only,
                              explain=explain, explain_time_limit_s=explain_time_limit_s))
    return tasks


def solve_tasks(tasks: Sequence[Task], region: Region, catalogue: Catalogue, executor: Executor,
                store: ResultStore | None, total: int, reused: int,
                progress: bool | None) -> dict[str, dict[str, Any]]:
    """Ship the input to the workers once, solve the tasks, and show their progress among ``total``."""
    with share(region, catalogue, executor) as shared:
        bar = Progress(total, reused, enabled=progress)
        try:
            return execute(tasks, shared, executor, store, bar)
        finally:
            bar.close()


def write_results(folder: Path | None, variations: Sequence[Variation], varied: Sequence[str],
                  results: Mapping[str, dict[str, Any]], want_plan: bool, plot_on: Executor | None,
                  timings: dict[str, float]) -> tuple[pd.DataFrame, list[Path]]:
    """The sweep table, written with its units to ``folder`` when there is one, and its plots drawn on
    ``plot_on`` (none without it); records ``write_s`` and ``plots_s`` in ``timings``."""
    start = time.perf_counter()
    frame = results_frame(variations, varied, results, PLANS_DIR if want_plan else None)
    units: dict[str, str] = {}
    for result in results.values():
        units.update(result.get("units", {}))
    if folder is not None:
        write_table(folder, RESULTS_STEM, SWEEP_TABLE, frame, units)
    timings["write_s"] = time.perf_counter() - start
    start = time.perf_counter()
    written: list[Path] = []
    if folder is not None and varied and plot_on is not None:
        written = write_plots(folder, frame, varied, units, plot_on)
    timings["plots_s"] = time.perf_counter() - start
    return frame, written
