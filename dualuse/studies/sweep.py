"""Policy sweeps: many scenarios of one region, solved in parallel on one machine or a Dask cluster.

A sweep file (TOML) names a base scenario and its variations::

    base = "strict.toml"            # a scenario file, relative to the sweep file; or inline:
    [base]
    food_floor = 0.9

    [grid]                          # the product of these lists is swept
    budget_usd = {start = 1e7, stop = 1e8, num = 10}
    ldn_target = [0.0, 0.02, 0.05]

    [[scenarios]]                   # named sets of overrides (each crossed with the grid)
    name = "no restoration floor"
    min_restored_ha = 0

Every scenario has an id: a hash of its canonical parameters, the input
region and the catalogue.  A finished scenario is kept as
``RESULTS_DIR/rows/<id>.json`` (and its plan as ``plans/<id>.gpkg``), each
written atomically as soon as it completes; a re-run skips what is there.

Execution is written against :class:`concurrent.futures.Executor`: a local
process pool, a Dask cluster's executor, or any other.  Workers get the
region once (a file read once per local process, a Dask scatter, or the
object itself in a thread pool), solve with one HiGHS thread each and return
plain data: the row, and the plan GeoPackage as bytes.

``dualuse.sweep(region, scenarios, executor=...)`` is :func:`run_sweep`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import math
import os
import pickle
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import pandas as pd

from dualuse.inputs.catalogue import Catalogue, load_catalogue
from dualuse.errors import DualuseError, InfeasibleError, TimeLimitError, UnboundedError, UsageError
from dualuse.files import atomic_path, atomic_write, check_output_path, prepare_folder, remove_stale_in
from dualuse.model.kpis import KPI_UNITS
from dualuse.inputs.region import Region, read_region
from dualuse.inputs.scenario import (PARAMETER_BY_NAME, Scenario, default_scenario_path, load_scenario, make_scenario,
                              read_scenario_file)

RESULTS_TABLE = "sweep"
COLUMNS_TABLE = "sweep_columns"
ROWS_DIR = "rows"
PLANS_DIR = "plans"
PLOTS_DIR = "plots"
#: Parameters a sweep fixes: one solver thread per worker, whatever the scenario says.
FIXED_IN_SWEEP: dict[str, Any] = {"threads": 1}
#: Statuses that are results (kept for a re-run); an "error" is retried.
FINAL_STATUSES = frozenset({"optimal", "feasible", "infeasible", "unbounded", "time_limit"})
PLAN_STATUSES = frozenset({"optimal", "feasible"})
#: Columns that differ between two runs of the same scenario.
TIMING_COLUMNS: tuple[str, ...] = ("solve_s",)
ID_LENGTH = 16


class SweepInterrupted(DualuseError):
    """The sweep was interrupted; what finished is kept (exit 130)."""

    exit_code = 130


# --------------------------------------------------------------------------- the sweep file


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file.

    Attributes
    ----------
    base : Scenario — the scenario every variation starts from
    grid : dict — parameter -> values; their product is swept
    named : tuple of (name, overrides) — named sets of overrides, each crossed with the grid
    source : str — the sweep file, for messages
    """

    base: Scenario
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    named: tuple[tuple[str, dict[str, Any]], ...] = ()
    source: str = ""

    @property
    def varied(self) -> list[str]:
        """The parameters this sweep varies, in the order the file gives them."""
        out = list(self.grid)
        for _, overrides in self.named:
            out += [k for k in overrides if k not in out]
        return out


def read_sweep(path: str | os.PathLike[str], sets: Mapping[str, Any] | None = None) -> SweepSpec:
    """Read and check a sweep TOML file (see the module docstring for its form).

    Parameters
    ----------
    path : the sweep file
    sets : overrides of the base scenario (``--set``), applied after the file's base
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"sweep file {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"sweep file {path}: is a folder; name the .toml file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"sweep file {path}: not valid TOML ({exc})") from None
    return parse_sweep(raw, origin=f"sweep file {path}", folder=path.parent, sets=sets)


def parse_sweep(raw: Mapping[str, Any], origin: str = "sweep", folder: Path = Path("."),
                sets: Mapping[str, Any] | None = None) -> SweepSpec:
    """A :class:`SweepSpec` from the mapping of a sweep file; every value is checked here."""
    unknown = sorted(set(raw) - {"base", "grid", "scenarios", "description"})
    if unknown:
        raise UsageError(f"{origin}: unknown key(s) {', '.join(unknown)}; a sweep file has 'base' (a scenario "
                         "file or an inline table), [grid] and [[scenarios]]")
    base_raw = raw.get("base")
    if base_raw is None or isinstance(base_raw, dict):
        base_values = dict(base_raw or {})
        _check_names(base_values, f"{origin}, [base]", allow_fixed=True)
        values = {**read_scenario_file(default_scenario_path()), **base_values}
        base = make_scenario(values, origin=f"{origin}, [base]")
        if sets:
            base = make_scenario({**values, **dict(sets)}, origin="--set")
    elif isinstance(base_raw, str):
        base_path = Path(base_raw) if Path(base_raw).is_absolute() else folder / base_raw
        base = load_scenario(base_path, dict(sets or {}))
    else:
        raise UsageError(f"{origin}: 'base' must be a scenario file name or a [base] table, not {base_raw!r}")

    grid_raw = raw.get("grid", {})
    if not isinstance(grid_raw, dict):
        raise UsageError(f"{origin}: [grid] must be a table of parameter = [values] or {{start, stop, num}}")
    _check_names(grid_raw, f"{origin}, [grid]")
    grid = {name: _grid_values(name, value, f"{origin}, [grid] {name}") for name, value in grid_raw.items()}

    named_raw = raw.get("scenarios", [])
    if not isinstance(named_raw, list) or not all(isinstance(s, dict) for s in named_raw):
        raise UsageError(f"{origin}: scenarios must be [[scenarios]] tables, each a name and overrides")
    named: list[tuple[str, dict[str, Any]]] = []
    for k, item in enumerate(named_raw):
        overrides = {key: value for key, value in item.items() if key != "name"}
        name = str(item.get("name", f"scenario {k + 1}"))
        where = f"{origin}, [[scenarios]] '{name}'"
        _check_names(overrides, where)
        clash = sorted(set(overrides) & set(grid))
        if clash:
            raise UsageError(f"{where}: sets {', '.join(clash)}, which [grid] also varies; remove it from one")
        for key, value in overrides.items():
            PARAMETER_BY_NAME[key].check(value, where)
        named.append((name, overrides))
    names = [n for n, _ in named]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"{origin}: scenario name(s) {', '.join(repeated)} used more than once; name each once")
    return SweepSpec(base=base, grid=grid, named=tuple(named), source=origin)


def _check_names(values: Mapping[str, Any], where: str, allow_fixed: bool = False) -> None:
    unknown = sorted(set(values) - set(PARAMETER_BY_NAME))
    if unknown:
        raise UsageError(f"{where}: unknown parameter(s) {', '.join(unknown)}; valid parameters: "
                         + ", ".join(PARAMETER_BY_NAME))
    fixed = sorted(set(values) & set(FIXED_IN_SWEEP)) if not allow_fixed else []
    if fixed:
        raise UsageError(f"{where}: {', '.join(fixed)} cannot be swept: a sweep solves every scenario with one "
                         "solver thread per worker (use --workers or a cluster for more parallelism)")


def _grid_values(name: str, value: Any, where: str) -> tuple[Any, ...]:
    """The values of one grid axis: a list, a single value, or a range ``{start, stop, num}`` (inclusive)."""
    parameter = PARAMETER_BY_NAME[name]
    if isinstance(value, dict):
        missing = sorted({"start", "stop", "num"} - set(value))
        extra = sorted(set(value) - {"start", "stop", "num"})
        if missing or extra:
            raise UsageError(f"{where}: a range is {{start = A, stop = B, num = N}}"
                             + (f"; missing {', '.join(missing)}" if missing else "")
                             + (f"; unknown {', '.join(extra)}" if extra else ""))
        num = value["num"]
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise UsageError(f"{where}: num must be a whole number of values, 1 or more (got {num!r})")
        for key in ("start", "stop"):
            if isinstance(value[key], bool) or not isinstance(value[key], (int, float)):
                raise UsageError(f"{where}: {key} must be a number (got {value[key]!r})")
        values: list[Any] = [float(f"{v:.12g}") for v in np.linspace(value["start"], value["stop"], num)]
    elif isinstance(value, list):
        values = list(value)
    else:
        values = [value]
    if not values:
        raise UsageError(f"{where}: no values; give at least one")
    checked = [parameter.check(v, f"{where}[{k}]") for k, v in enumerate(values)]
    if len(set(checked)) < len(checked):
        raise UsageError(f"{where}: a value is repeated; give each value once")
    return tuple(checked)


# --------------------------------------------------------------------------- variations and ids


@dataclass(frozen=True)
class Variation:
    """One scenario of a sweep: its name, the parameters it varies, and its id."""

    id: str
    name: str
    overrides: dict[str, Any]
    scenario: Scenario


def input_key(region: Region, catalogue: Catalogue) -> str:
    """A digest of the input that every result depends on: the region file and layer, and the catalogue."""
    source = region.input_sha256 or _region_digest(region)
    text = json.dumps({"input_sha256": source, "layer": region.layer, "catalogue_sha256": catalogue.sha256},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _region_digest(region: Region) -> str:
    """A content digest of a region that was not read from a file."""
    digest = hashlib.sha256()
    for array in (region.area_ha, region.land_type, region.pv_yield_kwh_kwp, region.productivity_t_ha,
                  region.soc_t_ha, region.degradation, region.slope_deg, region.protected, region.grid_km,
                  region.community):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(region.communities.to_csv(index=False).encode())
    return digest.hexdigest()


def scenario_id(scenario: Scenario, key: str, extra: str = "") -> str:
    """The id of a scenario's result: a hash of its canonical parameters and the input (and ``extra``)."""
    text = json.dumps({"scenario": scenario.to_dict(), "input": key, "extra": extra}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:ID_LENGTH]


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def expand(spec: SweepSpec, key: str) -> list[Variation]:
    """The variations of a sweep: each named set (or the base alone) crossed with the grid's product."""
    named = list(spec.named) or [("", {})]
    axes = list(spec.grid.items())
    out: list[Variation] = []
    for name, overrides in named:
        for values in itertools.product(*(v for _, v in axes)):
            point = dict(zip((k for k, _ in axes), values))
            merged = {**overrides, **point}
            scenario = spec.base.replace(**merged, **FIXED_IN_SWEEP)
            label = ", ".join(f"{k}={_fmt(v)}" for k, v in point.items())
            full = f"{name}: {label}" if name and label else (name or label or "base")
            out.append(Variation(id=scenario_id(scenario, key), name=full, overrides=merged, scenario=scenario))
    return out


def variations_from(scenarios: SweepSpec | str | os.PathLike[str] | Mapping[str, Scenario] | Iterable[Scenario],
                    key: str) -> tuple[list[Variation], list[str]]:
    """The variations and the varied parameters of what :func:`run_sweep` was given."""
    if isinstance(scenarios, (str, os.PathLike)):
        scenarios = read_sweep(scenarios)
    if isinstance(scenarios, SweepSpec):
        return expand(scenarios, key), scenarios.varied
    if isinstance(scenarios, Mapping):
        items = [(str(n), s) for n, s in scenarios.items()]
    else:
        items = [("", s) for s in scenarios]
    if not all(isinstance(s, Scenario) for _, s in items):
        raise UsageError("scenarios must be a sweep file, a SweepSpec, or Scenario objects")
    items = [(n, s.replace(**FIXED_IN_SWEEP)) for n, s in items]
    dicts = [s.to_dict() for _, s in items]
    varied = [p for p in PARAMETER_BY_NAME if len({json.dumps(d[p]) for d in dicts}) > 1]
    out = []
    for name, scenario in items:
        overrides = {p: getattr(scenario, p) for p in varied}
        label = name or ", ".join(f"{k}={_fmt(v)}" for k, v in overrides.items()) or "base"
        out.append(Variation(id=scenario_id(scenario, key), name=label, overrides=overrides, scenario=scenario))
    return out, varied


# --------------------------------------------------------------------------- shipping the input to workers

_INPUTS: dict[str, tuple[Region, Catalogue]] = {}


class SharedInput:
    """The region and catalogue as workers receive them: read from a file once per process, or carried along.

    Pickling sends only the key and the file's path when there is a file, so a
    task stays small however large the region.
    """

    def __init__(self, key: str, path: str | None = None, value: tuple[Region, Catalogue] | None = None) -> None:
        self.key = key
        self.path = path
        self.value = value

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self.key, "path": self.path, "value": None if self.path else self.value}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def get(self) -> tuple[Region, Catalogue]:
        """The region and catalogue (loaded at most once per process)."""
        if self.value is not None:
            return self.value
        cached = _INPUTS.get(self.key)
        if cached is None:
            if self.path is None:
                raise DualuseError("internal error: the sweep's input was not shipped to this worker")
            with open(self.path, "rb") as fh:
                cached = pickle.load(fh)
            _INPUTS.clear()  # one region per worker at a time
            _INPUTS[self.key] = cached
        return cached


@contextlib.contextmanager
def share(region: Region, catalogue: Catalogue, executor: Executor) -> Iterator[Any]:
    """What to pass to the workers so that each gets the region once.

    A Dask executor gets it scattered to every worker; a thread pool gets the
    object itself; a process pool gets a file that each process reads once.
    Any other executor gets it with every task (correct, not frugal).
    """
    key = input_key(region, catalogue)
    inline = SharedInput(key, value=(region, catalogue))
    client = _dask_client(executor)
    if client is not None:
        future = client.scatter(inline, broadcast=True, hash=False)
        try:
            yield future
        finally:
            with contextlib.suppress(Exception):
                client.cancel([future])
        return
    if isinstance(executor, ThreadPoolExecutor) or not _is_process_pool(executor):
        yield inline
        return
    with tempfile.TemporaryDirectory(prefix="dualuse-input-") as tmp:
        path = Path(tmp) / f"{key[:16]}.pickle"
        with open(path, "wb") as fh:
            pickle.dump((region, catalogue), fh, protocol=pickle.HIGHEST_PROTOCOL)
        yield SharedInput(key, path=str(path))


def _dask_client(executor: Executor) -> Any:
    module = sys.modules.get("distributed.cfexecutor")
    if module is not None and isinstance(executor, module.ClientExecutor):
        return getattr(executor, "_client", None)
    return None


def _is_process_pool(executor: Executor) -> bool:
    from concurrent.futures import ProcessPoolExecutor
    return isinstance(executor, ProcessPoolExecutor)


# --------------------------------------------------------------------------- the work of one scenario


class Adjustment(Protocol):
    """A change to the built model before it is solved (the Pareto front's objective and ε-constraint)."""

    def apply(self, m: Any, coef: Any, scenario: Scenario) -> None: ...

    def key(self) -> str: ...


@dataclass(frozen=True)
class Task:
    """One solve for a worker: plain data only."""

    id: str
    scenario_json: str
    want_plan: bool = False
    adjustment: Adjustment | None = None
    run: dict[str, Any] = field(default_factory=dict)


def run_task(shared: SharedInput, task: Task) -> dict[str, Any]:
    """Solve one scenario in a worker; never raises for the scenario's own failure.

    Returns ``{"row": {...}, "units": {...}, "plan": bytes | None}``: the row
    has the id, status, message, objective, gap, every KPI, the shadow prices
    (``shadow_<name>``) and ``solve_s``; ``units`` gives the shadow prices' units.
    """
    from dualuse.model.coefficients import compute_coefficients
    from dualuse.model.build import build_model
    from dualuse.plan import make_plan
    from dualuse.diagnose.status import raise_for_status
    from dualuse.solve.highs import solve_model

    start = time.perf_counter()
    region, catalogue = shared.get()
    row: dict[str, Any] = {"id": task.id, "status": "error", "message": "", "objective": math.nan,
                           "gap": math.nan}
    units: dict[str, str] = {}
    plan_bytes: bytes | None = None
    try:
        scenario = make_scenario(json.loads(task.scenario_json), origin=f"scenario {task.id}")
        coef = compute_coefficients(region, catalogue, scenario)
        m = build_model(coef, scenario)
        if task.adjustment is not None:
            task.adjustment.apply(m, coef, scenario)
        result = solve_model(m, coef, scenario)
        raise_for_status(result, coef, scenario, explain=task.adjustment is None)
        plan = make_plan(region, catalogue, scenario, coef, result)
        row.update(status=plan.status.value, objective=plan.objective, gap=plan.gap)
        if plan.status.value == "feasible":
            row["message"] = f"time limit reached; the plan may not be optimal (gap {plan.gap:.2%})"
        row.update(plan.kpis)
        for price in plan.shadow_prices:
            row[f"shadow_{price['name']}"] = price["value"]
            units[f"shadow_{price['name']}"] = price["unit"]
        if task.want_plan:
            plan_bytes = _plan_bytes(plan, task)
    except DualuseError as exc:
        row["status"] = _STATUS_OF.get(type(exc), "error")
        row["message"] = str(exc)
    except Exception as exc:  # a failing scenario is a row, never the end of the sweep
        row["message"] = f"{type(exc).__name__}: {exc}"
    row["solve_s"] = time.perf_counter() - start
    return {"row": row, "units": units, "plan": plan_bytes}


_STATUS_OF: dict[type, str] = {InfeasibleError: "infeasible", TimeLimitError: "time_limit",
                               UnboundedError: "unbounded"}


def _plan_bytes(plan: Any, task: Task) -> bytes:
    """The plan GeoPackage, written by :func:`dualuse.export.gpkg.write_plan` in the worker, as bytes."""
    from dualuse.export.gpkg import write_plan

    with tempfile.TemporaryDirectory(prefix="dualuse-plan-", dir=_memory_folder()) as tmp:
        path = Path(tmp) / f"{task.id}.gpkg"
        write_plan(plan, path, extra_run={"sweep_id": task.id, **task.run})
        return path.read_bytes()


def _memory_folder() -> str | None:
    """A RAM-backed folder for the plan's scratch copy where there is one: GeoPackage writes there
    skip the disk syncs that cost most of a small plan's write time (the kept copy is synced once)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


# --------------------------------------------------------------------------- persistence


class ResultStore:
    """Finished rows and plans in a results folder, each written atomically as it completes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for sub in (ROWS_DIR, PLANS_DIR):
            (folder / sub).mkdir(exist_ok=True)
            remove_stale_in(folder / sub)

    def row_path(self, id_: str) -> Path:
        return self.folder / ROWS_DIR / f"{id_}.json"

    def plan_path(self, id_: str) -> Path:
        return self.folder / PLANS_DIR / f"{id_}.gpkg"

    def load(self, id_: str, want_plan: bool) -> dict[str, Any] | None:
        """The stored result of ``id_``, or None when it must be solved (again)."""
        try:
            stored = json.loads(self.row_path(id_).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        row = stored.get("row", {})
        if row.get("id") != id_ or row.get("status") not in FINAL_STATUSES:
            return None
        if want_plan and row["status"] in PLAN_STATUSES and not self.plan_path(id_).exists():
            return None
        return stored

    def save(self, result: dict[str, Any]) -> None:
        """The plan first, then the row: a stored row means its plan is there too."""
        row = result["row"]
        if result.get("plan") is not None:
            atomic_write(self.plan_path(row["id"]), result["plan"])
        if row["status"] in FINAL_STATUSES:
            stored = {"row": row, "units": result.get("units", {}),
                      "finished_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
            atomic_write(self.row_path(row["id"]), json.dumps(stored, sort_keys=True).encode())


# --------------------------------------------------------------------------- execution


class Progress:
    """A one-line progress bar on stderr: done/total, elapsed, ETA, and how many have no plan
    (infeasible or failed)."""

    def __init__(self, total: int, done: int = 0, enabled: bool | None = None, label: str = "sweep",
                 stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.total, self.done, self.failed, self.label = total, done, 0, label
        self.start_done = done
        self.start = time.monotonic()
        self.last = 0.0
        self.draw(force=True)

    def update(self, status: str) -> None:
        self.done += 1
        self.failed += status not in PLAN_STATUSES
        self.draw(force=self.done == self.total)

    def draw(self, force: bool = False) -> None:
        if not self.enabled or self.total == 0:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        elapsed = now - self.start
        solved = self.done - self.start_done
        remaining = self.total - self.done
        eta = _clock(elapsed / solved * remaining) if solved else "--:--"
        width = 24
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "." * (width - filled)
        fail = f"  no plan {self.failed}" if self.failed else ""
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}  elapsed {_clock(elapsed)}  "
                          f"ETA {eta}{fail}  ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.total:
            if self.done < self.total:
                self.draw(force=True)
            self.stream.write("\n")
            self.stream.flush()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def execute(tasks: Sequence[Task], shared: Any, executor: Executor, store: ResultStore | None = None,
            progress: Progress | None = None) -> dict[str, dict[str, Any]]:
    """Run tasks on the executor; store and report each result as it arrives.

    A task whose worker fails becomes an ``error`` row (not stored, so that a
    re-run retries it).  The caller closes ``progress``.  On KeyboardInterrupt the pending tasks are cancelled
    and :class:`SweepInterrupted` is raised; what finished is stored.
    """
    results: dict[str, dict[str, Any]] = {}
    futures: dict[Future[dict[str, Any]], Task] = {}
    try:
        for task in tasks:
            futures[executor.submit(run_task, shared, task)] = task
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:
                result = {"row": {"id": task.id, "status": "error", "objective": math.nan, "gap": math.nan,
                                  "message": f"the worker failed ({type(exc).__name__}: {exc}); re-run the same "
                                             "command to retry"}, "units": {}, "plan": None}
            if store is not None:
                store.save(result)
            result["plan"] = None  # written; do not keep it in memory
            results[task.id] = result
            if progress is not None:
                progress.update(result["row"]["status"])
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        raise SweepInterrupted(f"interrupted: {len(results)} of {len(tasks)} scenarios finished and were kept; "
                               "re-run the same command to resume") from None
    return results


#: What every worker imports before its first task: the solve path, and the scipy modules that Pyomo
#: imports on the first model it compiles (seconds per process otherwise).
WORKER_MODULES: tuple[str, ...] = ("dualuse.studies.sweep", "scipy.sparse", "scipy.stats")
#: And, when it draws the plots, matplotlib.
PLOT_MODULES: tuple[str, ...] = ("matplotlib.figure", "matplotlib.backends.backend_agg")


def warm_up(modules: Sequence[str]) -> int:
    """Import ``modules`` in a worker; returns the worker's process id."""
    import importlib
    for name in modules:
        importlib.import_module(name)
    return os.getpid()


@contextlib.contextmanager
def open_executor(workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None,
                  plots: bool = True) -> Iterator[Executor]:
    """The executor of a sweep: a local process pool (default), a Dask cluster, or a local Dask cluster.

    The workers are started and have imported what they need (:data:`WORKER_MODULES`, and
    :data:`PLOT_MODULES` with ``plots``) before this returns, so that the sweep's time is the
    scenarios' time.

    Parameters
    ----------
    workers : local processes [default: one per core]
    scheduler : address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786``
    dask_local : start a local Dask cluster of this many single-threaded workers
    plots : the workers will draw plots
    """
    if scheduler is not None and dask_local is not None:
        raise UsageError("give --scheduler or --dask-local, not both")
    if workers is not None and (scheduler is not None or dask_local is not None):
        raise UsageError("--workers sizes the local process pool; a Dask cluster has its own workers")
    for option, value in (("--workers", workers), ("--dask-local", dask_local)):
        if value is not None and value < 1:
            raise UsageError(f"{option} must be 1 or more (got {value})")
    modules = WORKER_MODULES + (PLOT_MODULES if plots else ())
    if scheduler is not None or dask_local is not None:
        import logging

        from distributed import Client, LocalCluster

        cluster = None
        if dask_local is not None:
            cluster = LocalCluster(n_workers=dask_local, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address, "
                                 "e.g. tcp://host:8786") from None
        try:
            client.run(warm_up, modules)
            yield client.get_executor(pure=False)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    count = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("forkserver")  # workers fork from a server that imported it all once
    context.set_forkserver_preload(list(modules))
    pool = ProcessPoolExecutor(max_workers=count, mp_context=context)
    try:
        for started in [pool.submit(os.getpid) for _ in range(count)]:
            started.result()
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def describe_executor(executor: Executor) -> str:
    """A few words naming where the work runs, for the log."""
    client = _dask_client(executor)
    if client is not None:
        return f"Dask cluster at {client.scheduler.address}"
    workers = getattr(executor, "_max_workers", None)
    kind = "local processes" if _is_process_pool(executor) else "threads" if isinstance(
        executor, ThreadPoolExecutor) else type(executor).__name__
    return f"{workers} {kind}" if workers else kind


# --------------------------------------------------------------------------- the results table


def results_frame(variations: Sequence[Variation], varied: Sequence[str], results: Mapping[str, dict[str, Any]],
                  plans_folder: str | None = None) -> pd.DataFrame:
    """One row per variation: id, name, the varied parameters, status, message, objective, KPIs,
    shadow prices, solve time, plan file and the scenario as canonical JSON."""
    shadow: list[str] = []
    for result in results.values():
        shadow += [k for k in result["row"] if k.startswith("shadow_") and k not in shadow]
    kpis = [k for k in KPI_UNITS if k not in varied]
    records = []
    for v in variations:
        row = results.get(v.id, {}).get("row", {"status": "error", "message": "not solved"})
        record: dict[str, Any] = {"id": v.id, "name": v.name}
        record.update({p: getattr(v.scenario, p) for p in varied})
        record.update(status=row.get("status", "error"), message=row.get("message", ""),
                      objective=row.get("objective", math.nan), gap=row.get("gap", math.nan))
        record.update({k: row.get(k, math.nan) for k in kpis})
        record.update({k: row.get(k, math.nan) for k in shadow})
        record["solve_s"] = row.get("solve_s", math.nan)
        has_plan = plans_folder is not None and record["status"] in PLAN_STATUSES
        record["plan"] = f"{plans_folder}/{v.id}.gpkg" if has_plan else ""
        record["scenario"] = v.scenario.to_json()
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for column in ("id", "name", "status", "message", "plan", "scenario"):
        frame[column] = frame[column].astype(object)
    return frame


def column_units(frame: pd.DataFrame, units: Mapping[str, str],
                 described: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """The unit and meaning of every column of a results table (``described``: more columns' unit, meaning)."""
    fixed = {**(described or {}), **{
        "id": ("—", "result id: hash of the scenario's parameters, the input region and the catalogue"),
        "name": ("—", "scenario name: its named set and grid values"),
        "status": ("—", "optimal, feasible (time limit with a plan), infeasible, unbounded, time_limit, error"),
        "message": ("—", "why there is no plan, or a warning"),
        "objective": ("—", "weighted sum of the unit-free KPIs less the cost tie-break"),
        "gap": ("relative", "MILP optimality gap (0 for an LP)"),
        "solve_s": ("s", "wall time of the worker for this scenario (coefficients, model, HiGHS, plan)"),
        "plan": ("—", "the plan GeoPackage, relative to the results folder"),
        "scenario": ("—", "every parameter of the scenario, as canonical JSON"),
    }}
    rows = []
    for column in frame.columns:
        if column in fixed:
            unit, meaning = fixed[column]
        elif column in PARAMETER_BY_NAME:
            unit, meaning = PARAMETER_BY_NAME[column].unit, PARAMETER_BY_NAME[column].help
        elif column in KPI_UNITS:
            unit, meaning = KPI_UNITS[column]
        elif column.startswith("shadow_"):
            unit, meaning = units.get(column, ""), f"shadow price of {column[len('shadow_'):]}"
        else:
            unit, meaning = units.get(column, ""), ""
        rows.append({"column": column, "unit": unit, "meaning": meaning})
    return pd.DataFrame(rows).astype(object)


def write_table(folder: Path, stem: str, layer: str, frame: pd.DataFrame, units: Mapping[str, str],
                described: Mapping[str, tuple[str, str]] | None = None) -> None:
    """``<stem>.gpkg`` (table ``layer`` and ``<layer>_columns``) and ``<stem>.csv``, each written atomically."""
    import pyogrio


    destination = check_output_path(folder / f"{stem}.gpkg")
    with atomic_path(destination) as temp:
        pyogrio.write_dataframe(_plain(frame), temp, layer=layer, driver="GPKG")
        pyogrio.write_dataframe(column_units(frame, units, described), temp, layer=f"{layer}_columns",
                                driver="GPKG")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    atomic_write(folder / f"{stem}.csv", buffer.getvalue().encode("utf-8"))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns GeoPackage can store: numbers as float or int, everything else as text."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].astype(np.int32)
        elif out[column].dtype.kind not in "fiu":
            out[column] = out[column].astype(str).astype(object)
    return out


def read_results(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """The ``sweep`` table of a results folder."""
    from dualuse.export.gpkg import read_table
    return read_table(Path(folder) / "results.gpkg", RESULTS_TABLE)


# --------------------------------------------------------------------------- plots


@dataclass(frozen=True)
class PlotSpec:
    """One picture: a metric (KPI or shadow price) against one varied parameter."""

    metric: str
    metric_unit: str
    metric_meaning: str
    parameter: str
    others: tuple[str, ...]

    @property
    def filename(self) -> str:
        return f"{self.metric}_vs_{self.parameter}.png"


def plot_specs(frame: pd.DataFrame, varied: Sequence[str], units: Mapping[str, str]) -> list[PlotSpec]:
    """Every KPI and every shadow price against every varied parameter (the trivial budget-vs-budget left out)."""
    specs = []
    metrics = [(k, KPI_UNITS[k][0], KPI_UNITS[k][1]) for k in KPI_UNITS if k in frame.columns]
    metrics += [(c, units.get(c, ""), f"shadow price of {c[len('shadow_'):]}") for c in frame.columns
                if c.startswith("shadow_")]
    for parameter in [p for p in varied if frame[p].nunique() > 1]:
        others = tuple(p for p in varied if p != parameter and frame[p].nunique() > 1)
        for metric, unit, meaning in metrics:
            if metric != parameter and frame[metric].notna().any():
                specs.append(PlotSpec(metric, unit, meaning, parameter, others))
    return specs


def render_plots(frame: pd.DataFrame, specs: Sequence[PlotSpec]) -> dict[str, bytes]:
    """PNG bytes of each plot (matplotlib, Agg, no global state): runs in a worker.

    The plots against one parameter share their x data and lines, so one
    figure is drawn per parameter and only the y data, labels and scale
    change from metric to metric (half the cost of a fresh figure each).
    """
    out: dict[str, bytes] = {}
    by_axis: dict[tuple[str, tuple[str, ...]], list[PlotSpec]] = {}
    for spec in specs:
        by_axis.setdefault((spec.parameter, spec.others), []).append(spec)
    for (parameter, others), group in by_axis.items():
        out.update(_render_against(frame, parameter, others, group))
    return out


def _render_against(frame: pd.DataFrame, parameter: str, others: tuple[str, ...],
                    specs: Sequence[PlotSpec]) -> dict[str, bytes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    solved = frame[frame["status"].isin(PLAN_STATUSES)]
    x_unit = PARAMETER_BY_NAME[parameter].unit
    numeric = pd.api.types.is_numeric_dtype(frame[parameter])
    categories = list(dict.fromkeys(frame[parameter].tolist()))
    groups = list(solved.groupby(list(others), sort=True)) if others else [((), solved)]
    as_lines = len(groups) <= 10
    ordered = len(others) == 1 and pd.api.types.is_numeric_dtype(frame[others[0]]) and len(groups) > 1
    lines = []
    for k, (values, rows) in enumerate(groups):
        rows = rows.sort_values(parameter)
        x = rows[parameter].to_numpy() if numeric else np.array([categories.index(v) for v in rows[parameter]])
        values = values if isinstance(values, tuple) else (values,)
        label = ", ".join(f"{p} = {_readable(v)}" for p, v in zip(others, values)) or None
        line, = ax.plot(x, np.full(len(x), np.nan), marker="o", markersize=4 if as_lines else 3,
                        linestyle="-" if as_lines and numeric else "none", linewidth=1.5, label=label,
                        color=_colour(k, len(groups), ordered) if as_lines else "C0")
        lines.append((line, rows))
    if not numeric:
        ax.set_xticks(range(len(categories)), [str(c) for c in categories])
        ax.set_xlim(-0.5, len(categories) - 0.5)
    ax.set_xlabel(f"{parameter} [{x_unit}]")
    format_axis(ax.xaxis, x_unit, frame[parameter] if numeric else None)
    ax.grid(alpha=0.3)
    if as_lines and others:
        ax.legend(fontsize=7, frameon=False, loc="best", ncol=2 if len(groups) > 5 else 1)
    missing = len(frame) - len(solved)
    note = f"\n({missing} scenario(s) without a plan not shown)" if missing else ""
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.13, top=0.86 if missing else 0.9)
    out: dict[str, bytes] = {}
    for spec in specs:
        for line, rows in lines:
            line.set_ydata(rows[spec.metric].to_numpy(dtype=float))
        ax.relim()
        ax.autoscale_view()
        ax.set_ylabel(f"{spec.metric} [{spec.metric_unit}]" if spec.metric_unit else spec.metric)
        ax.set_title(spec.metric_meaning[:70] + note, fontsize=10)
        format_axis(ax.yaxis, spec.metric_unit, solved[spec.metric])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        out[spec.filename] = buffer.getvalue()
    return out


def _colour(k: int, n: int, ordered: bool) -> Any:
    """Line colours: a sequential map when the lines are the steps of one numeric parameter."""
    if ordered:
        from matplotlib import colormaps
        return colormaps["viridis"](0.9 * k / max(n - 1, 1))
    return f"C{k % 10}"


def _readable(value: Any) -> str:
    """A value for a legend: 3.5 M rather than 3.5e+06."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 1e4:
        for size, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= size:
                return f"{value / size:.4g} {prefix}"
    return _fmt(value)


def format_axis(axis: Any, unit: str, values: pd.Series | None) -> None:
    """Percentages for shares, engineering prefixes (k, M) for large numbers, plain numbers otherwise."""
    from matplotlib.ticker import EngFormatter, PercentFormatter, ScalarFormatter

    if values is None:
        return
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    if unit.startswith("share"):
        axis.set_major_formatter(PercentFormatter(1.0))
    elif finite.size and float(np.abs(finite).max()) >= 1e4:
        axis.set_major_formatter(EngFormatter(sep=" "))
    else:
        axis.set_major_formatter(ScalarFormatter())


def write_plots(folder: Path, frame: pd.DataFrame, varied: Sequence[str], units: Mapping[str, str],
                executor: Executor) -> list[Path]:
    """Render the plots on the executor's workers and write them to ``folder/plots``; stale ones are removed."""
    specs = plot_specs(frame, varied, units)
    target = folder / PLOTS_DIR
    target.mkdir(exist_ok=True)
    # chunks as large as keeps every worker busy: each chunk sets up its figure once
    chunk = max(1, math.ceil(len(specs) / (2 * _worker_count(executor))))
    futures = [executor.submit(render_plots, frame, specs[k:k + chunk]) for k in range(0, len(specs), chunk)]
    written = []
    for future in as_completed(futures):
        for name, data in future.result().items():
            atomic_write(target / name, data)
            written.append(target / name)
    keep = {p.name for p in written}
    for stale in target.glob("*_vs_*.png"):
        if stale.name not in keep:
            stale.unlink()
    return sorted(written)


def _worker_count(executor: Executor) -> int:
    client = _dask_client(executor)
    if client is not None:
        return max(1, len(client.scheduler_info().get("workers", {})))
    return int(getattr(executor, "_max_workers", 1) or 1)


# --------------------------------------------------------------------------- the API


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


def run_sweep(region: str | os.PathLike[str] | Region,
              scenarios: SweepSpec | str | os.PathLike[str] | Mapping[str, Scenario] | Iterable[Scenario],
              executor: Executor | None = None, *, output: str | os.PathLike[str] | None = None,
              catalogue: str | os.PathLike[str] | Catalogue | None = None, layer: str | None = None,
              plans: bool = True, plots: bool = True, progress: bool | None = None,
              log: Callable[[str], None] | None = None) -> SweepResult:
    """Solve many scenarios of one region and gather one row per scenario.

    Parameters
    ----------
    region : a region GeoPackage, or a :class:`~dualuse.inputs.region.Region` already read
    scenarios : a sweep TOML file, a :class:`SweepSpec`, a mapping name -> Scenario, or Scenarios
    executor : any :class:`concurrent.futures.Executor` [default: a local process pool, one per core]
    output : results folder; with it, each finished scenario is stored at once, a re-run skips the stored
        ones, and ``results.gpkg`` (table ``sweep``), ``results.csv``, ``plans/<id>.gpkg`` and
        ``plots/*.png`` are written
    catalogue : land-use catalogue file or object [default: the bundled one]
    plans, plots : write each scenario's plan, and the plots (with ``output``)
    progress : show a progress bar on stderr [default: when stderr is a terminal]
    log : where to say what is being done (e.g. ``click.echo`` to stderr) [default: nowhere]

    Returns
    -------
    SweepResult
    """
    say = log or (lambda text: None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if isinstance(scenarios, (str, os.PathLike)):
        scenarios = read_sweep(scenarios)
    if not isinstance(catalogue, Catalogue):
        catalogue = load_catalogue(catalogue)
    if not isinstance(region, Region):
        region = read_region(region, layer)
    key = input_key(region, catalogue)
    timings["read_s"] = time.perf_counter() - start
    variations, varied = variations_from(scenarios, key)
    unique = list({v.id: v for v in variations}.values())
    if len(unique) < len(variations):
        say(f"{len(variations) - len(unique)} variation(s) repeat an earlier scenario; each is solved once")
    folder = prepare_folder(output, [region.path]) if output is not None else None
    store = ResultStore(folder) if folder is not None else None
    want_plan = plans and folder is not None
    results: dict[str, dict[str, Any]] = {}
    if store is not None:
        for v in unique:
            stored = store.load(v.id, want_plan)
            if stored is not None:
                results[v.id] = stored
    reused = len(results)
    run = {"command": " ".join(sys.argv), "sweep_source": getattr(scenarios, "source", "")}
    tasks = [Task(id=v.id, scenario_json=v.scenario.to_json(), want_plan=want_plan,
                  run={**run, "sweep_name": v.name}) for v in unique if v.id not in results]
    written_plots: list[Path] = []
    with contextlib.ExitStack() as stack:
        if executor is None and (tasks or (plots and folder is not None and varied)):
            executor = stack.enter_context(open_executor(plots=plots and folder is not None))
        start = time.perf_counter()
        if tasks:
            assert executor is not None
            say(f"{len(unique)} scenarios: {reused} already done, solving {len(tasks)} on "
                f"{describe_executor(executor)}")
            shared = stack.enter_context(share(region, catalogue, executor))
            bar = Progress(len(unique), reused, enabled=progress)
            try:
                results.update(execute(tasks, shared, executor, store, bar))
            finally:
                bar.close()
        elif unique:
            say(f"{len(unique)} scenarios: all already done")
        timings["solve_s"] = time.perf_counter() - start
        start = time.perf_counter()
        frame = results_frame(variations, varied, results, PLANS_DIR if want_plan else None)
        units: dict[str, str] = {}
        for result in results.values():
            units.update(result.get("units", {}))
        if folder is not None:
            write_table(folder, "results", RESULTS_TABLE, frame, units)
        timings["write_s"] = time.perf_counter() - start
        start = time.perf_counter()
        if folder is not None and plots and varied and executor is not None:
            written_plots = write_plots(folder, frame, varied, units, executor)
        timings["plots_s"] = time.perf_counter() - start
    return SweepResult(rows=frame, varied=list(varied), solved=len(tasks), reused=reused, output=folder,
                       plots=written_plots, timings=timings)
