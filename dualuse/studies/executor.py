"""Where a study's solves run: a local process pool or a Dask cluster, with the input shipped once.

Execution is written against :class:`concurrent.futures.Executor`: a local
process pool, a Dask cluster's executor, or any other.  Workers get the
region once (a file read once per local process, a Dask scatter, or the
object itself in a thread pool), have imported the solve path before their
first task, solve with one HiGHS thread each through
:func:`dualuse.run.run_scenario` and return plain data: the row, and the plan
GeoPackage as bytes.  The tasks of one *chain* (neighbours in a sweep's grid,
:data:`CHAIN_LENGTH` at a time) go to one worker together and are solved in
their order, each structured solve starting from the coupling duals of the
one before it (:func:`run_chain`) instead of estimating them on a sample.
Which scenario seeds which is fixed by the sweep itself, not by the number of
workers or by the executor, so that a sweep gives the same plans on a
process pool, a Dask cluster or one process, even for a scenario with
alternative optima.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dualuse.errors import (
    DualuseError,
    InfeasibleError,
    TimeLimitError,
    UnboundedError,
    UsageError,
    require_extra,
)
from dualuse.export.gpkg import write_plan
from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import make_scenario
from dualuse.plan import Plan
from dualuse.progress import Progress, set_verbosity, verbosity
from dualuse.run import Adjustment, run_scenario
from dualuse.solve.interrupt import Interrupted
from dualuse.studies.spec import input_key
from dualuse.studies.store import PLAN_STATUSES, ResultStore


class SweepInterrupted(DualuseError):
    """The sweep was stopped by SIGINT or SIGTERM; what finished is kept (exit 130 or 143, as a shell gives)."""

    exit_code = 130

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


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


@dataclass(frozen=True)
class Task:
    """One solve for a worker: plain data only."""

    id: str
    scenario_json: str
    want_plan: bool = False
    adjustment: Adjustment | None = None
    run: dict[str, Any] = field(default_factory=dict)
    #: Start the structured solve from the coupling duals of the task before it in its chain.
    seed_duals: bool = True
    #: Tasks of the same chain (a non-empty id) are solved by one worker, one after another, in their order.
    chain: str = ""
    #: Solved only to seed the next task of its chain (its result is already stored): its result is dropped.
    seed_only: bool = False
    #: Explain an infeasible scenario (never for a front's adjusted solves), within this budget [s] (None: the
    #: default of :func:`dualuse.run.run_scenario`).
    explain: bool = True
    explain_time_limit_s: float | None = None


#: Scenarios of a sweep solved one after another by one worker, each seeded from the one before (:func:`chains`).
CHAIN_LENGTH = 4


def chains(count: int, pending: Sequence[bool], length: int = CHAIN_LENGTH) -> list[list[tuple[int, bool]]]:
    """The chains of ``count`` scenarios in their order: runs of ``length`` consecutive ones, fixed by the
    order alone.  Each chain with a ``pending`` scenario is listed up to its last pending one, as
    (position, seed only) pairs: a scenario before it that is already done is solved again only to seed
    the next, so that every scenario starts from the same duals whatever was done before."""
    out = []
    for first in range(0, count, length):
        members = list(range(first, min(first + length, count)))
        todo = [k for k in members if pending[k]]
        if todo:
            out.append([(k, not pending[k]) for k in members if k <= todo[-1]])
    return out


def run_chain(shared: SharedInput, tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """Solve tasks in their order (:func:`run_task`), each seeded (``seed_duals``) from the coupling duals of
    the one before it; the results of all but the ``seed_only`` tasks."""
    out = []
    seeds: dict[int, np.ndarray] | None = None
    for task in tasks:
        result, duals = _solve_task(shared, task, seeds if task.seed_duals else None)
        seeds = {int(duals.size): duals} if duals is not None and duals.size else None
        if not task.seed_only:
            out.append(result)
    return out


def run_task(shared: SharedInput, task: Task) -> dict[str, Any]:
    """Solve one scenario in a worker (:func:`dualuse.run.run_scenario`), without a seed; never raises for
    the scenario's own failure.

    Returns ``{"row": {...}, "units": {...}, "plan": bytes | None}``: the row
    has the id, status, message, objective, gap, every KPI, the shadow prices
    (``shadow_<name>``), ``solve_s``, ``solve_cpu_s`` (the CPU time of the worker's process meanwhile: of
    every thread, in a thread pool), ``seeded`` (whether the structured solve started from the duals of
    the scenario before it in its chain: :func:`run_chain`) and
    ``structured_rounds`` (its column-generation rounds; 0 on the generic path); ``units`` gives the
    shadow prices' units.
    A scenario without a plan has the status and message that ``dualuse solve``
    gives it (the explanation in policy terms, except for a front's adjusted solves).
    """
    return _solve_task(shared, task, None)[0]


def _solve_task(shared: SharedInput, task: Task,
                seeds: dict[int, np.ndarray] | None) -> tuple[dict[str, Any], np.ndarray | None]:
    """:func:`run_task` from the coupling duals ``seeds``; the result and the plan's coupling duals."""
    start, cpu = time.perf_counter(), time.process_time()
    region, catalogue = shared.get()
    row: dict[str, Any] = {"id": task.id, "status": "error", "message": "", "objective": math.nan,
                           "gap": math.nan}
    units: dict[str, str] = {}
    plan_bytes: bytes | None = None
    duals = None
    try:
        scenario = make_scenario(json.loads(task.scenario_json), origin=f"scenario {task.id}")
        plan = run_scenario(region, catalogue, scenario, explain=task.explain and task.adjustment is None,
                            time_limit_s=None, adjust=task.adjustment, dual_seeds=seeds,
                            explain_time_limit_s=task.explain_time_limit_s)
        duals = plan.result.coupling_dual
        units = _plan_row(plan, row)
        if task.want_plan and not task.seed_only:
            plan_bytes = _plan_bytes(plan, task)
    except DualuseError as exc:
        row["status"] = _STATUS_OF.get(type(exc), "error")
        row["message"] = str(exc)
    except Exception as exc:  # a failing scenario is a row, never the end of the sweep
        row["message"] = f"{type(exc).__name__}: {exc}"
    row["solve_s"] = time.perf_counter() - start
    row["solve_cpu_s"] = time.process_time() - cpu
    return {"row": row, "units": units, "plan": plan_bytes}, duals


def _plan_row(plan: Plan, row: dict[str, Any]) -> dict[str, str]:
    """Fill ``row`` with a plan's status, objective, gap, KPIs and shadow prices; returns the prices' units."""
    units: dict[str, str] = {}
    row.update(status=plan.status.value, objective=plan.objective, gap=plan.gap,
               seeded=bool(plan.result.solver.get("structured_seeded", False)),
               structured_rounds=int(plan.result.solver.get("structured_rounds", 0)))
    if plan.status.value == "feasible":
        row["message"] = f"time limit reached; the plan may not be optimal (gap {plan.gap:.2%})"
    row.update(plan.kpis)
    row.update(plan.connectivity)
    for price in plan.shadow_prices:
        row[f"shadow_{price['name']}"] = price["value"]
        units[f"shadow_{price['name']}"] = price["unit"]
    return units


_STATUS_OF: dict[type, str] = {InfeasibleError: "infeasible", TimeLimitError: "time_limit",
                               UnboundedError: "unbounded"}


def _plan_bytes(plan: Plan, task: Task) -> bytes:
    """The plan GeoPackage, written by :func:`dualuse.export.gpkg.write_plan` in the worker, as bytes."""
    with tempfile.TemporaryDirectory(prefix="dualuse-plan-", dir=_memory_folder()) as tmp:
        path = Path(tmp) / f"{task.id}.gpkg"
        write_plan(plan, path, extra_run={"sweep_id": task.id, **task.run})
        return path.read_bytes()


def _memory_folder() -> str | None:
    """A RAM-backed folder for the plan's scratch copy where there is one: GeoPackage writes there
    skip the disk syncs that cost most of a small plan's write time (the kept copy is synced once)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


# --------------------------------------------------------------------------- execution


def execute(tasks: Sequence[Task], shared: Any, executor: Executor, store: ResultStore | None = None,
            progress: Progress | None = None) -> dict[str, dict[str, Any]]:
    """Run tasks on the executor, each chain (:attr:`Task.chain`) as one job (:func:`run_chain`); store and
    report each result as it arrives (a ``seed_only`` task has none).

    A task whose worker fails becomes an ``error`` row (not stored, so that a
    re-run retries it).  The caller closes ``progress``.  On KeyboardInterrupt the pending tasks are cancelled
    and :class:`SweepInterrupted` is raised; what finished is stored.
    """
    results: dict[str, dict[str, Any]] = {}
    futures: dict[Future[list[dict[str, Any]]], list[Task]] = {}
    wanted = sum(not task.seed_only for task in tasks)
    try:
        for unit in _jobs(tasks):
            futures[executor.submit(run_chain, shared, unit)] = unit
        for future in as_completed(futures):
            unit = futures[future]
            try:
                finished = future.result()
            except Exception as exc:
                finished = [{"row": {"id": task.id, "status": "error", "objective": math.nan, "gap": math.nan,
                                     "message": f"the worker failed ({type(exc).__name__}: {exc}); re-run the "
                                                "same command to retry"}, "units": {}, "plan": None}
                            for task in unit if not task.seed_only]
            for result in finished:
                if store is not None:
                    store.save(result)
                result["plan"] = None  # written; do not keep it in memory
                results[result["row"]["id"]] = result
                if progress is not None:
                    progress.update(failed=result["row"]["status"] not in PLAN_STATUSES)
    except (KeyboardInterrupt, Interrupted) as exc:
        for future in futures:
            future.cancel()
        stopped = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
        raise SweepInterrupted(f"{stopped}: {len(results)} of {wanted} scenarios finished and were kept; "
                               "re-run the same command to resume", stopped.exit_code) from None
    return results


def _jobs(tasks: Sequence[Task]) -> list[list[Task]]:
    """The tasks grouped into jobs: the tasks of each chain together, in their order; every other task alone."""
    jobs: list[list[Task]] = []
    by_chain: dict[str, list[Task]] = {}
    for task in tasks:
        if not task.chain:
            jobs.append([task])
        elif task.chain in by_chain:
            by_chain[task.chain].append(task)
        else:
            by_chain[task.chain] = [task]
            jobs.append(by_chain[task.chain])
    return jobs


#: What every worker imports before its first task: the solve path, and the scipy modules that Pyomo
#: imports on the first model it compiles (seconds per process otherwise).
WORKER_MODULES: tuple[str, ...] = ("dualuse.studies.executor", "scipy.sparse", "scipy.stats")
#: And, when it draws the plots, matplotlib.
PLOT_MODULES: tuple[str, ...] = ("matplotlib.figure", "matplotlib.backends.backend_agg")
#: The modules of those that a worker imports only where they are installed (Pyomo does without scipy).
IF_INSTALLED: frozenset[str] = frozenset({"scipy.sparse", "scipy.stats"})


def warm_up(modules: Sequence[str]) -> int:
    """Import ``modules`` in a worker (those of :data:`IF_INSTALLED` where installed); returns its process id."""
    import importlib
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            if name not in IF_INSTALLED:
                raise
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
    if plots:
        require_extra("report", "drawing the sweep's plots (leave them out with --no-plots)")
    modules = WORKER_MODULES + (PLOT_MODULES if plots else ())
    if scheduler is not None or dask_local is not None:
        with _dask_executor(scheduler, dask_local, modules) as executor:
            yield executor
    else:
        with _process_pool(workers or os.cpu_count() or 1, modules) as executor:
            yield executor


@contextlib.contextmanager
def _dask_executor(scheduler: str | None, dask_local: int | None, modules: Sequence[str]) -> Iterator[Executor]:
    """The executor of a running Dask scheduler, or of a local cluster of ``dask_local`` workers."""
    import logging

    require_extra("dask", "a Dask cluster (--scheduler, --dask-local)")
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
        client.run(set_verbosity, verbosity())
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _process_pool(count: int, modules: Sequence[str]) -> Iterator[Executor]:
    """A pool of ``count`` local processes, all started, forked from a server that imported ``modules`` once."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(modules))
    pool = ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=_worker_start,
                               initargs=(verbosity(),))
    try:
        for started in [pool.submit(os.getpid) for _ in range(count)]:
            started.result()
        yield pool
    except BaseException:  # interrupted or failed: the workers' tasks are not waited for
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: How long a terminated worker has to end before it is killed [s].
_WORKER_GRACE_S = 2.0


def _worker_start(level: int) -> None:
    """In a new worker: the parent's -q/-v (so that -q silences HiGHS there too), and its signals."""
    set_verbosity(level)
    _worker_signals()


def _worker_signals() -> None:
    """In a worker: Ctrl-C (SIGINT to the whole terminal's process group) is the parent's to handle; SIGTERM
    from the parent ends the worker through Python (``finally`` blocks run) when it is in Python code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def end(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, end)


def _stop_workers(pool: Any) -> None:
    """Terminate the pool's worker processes, and kill those still there after :data:`_WORKER_GRACE_S`."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + _WORKER_GRACE_S
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)


def describe_executor(executor: Executor) -> str:
    """A few words naming where the work runs, for the log."""
    client = _dask_client(executor)
    if client is not None:
        return f"Dask cluster at {client.scheduler.address}"
    workers = getattr(executor, "_max_workers", None)
    kind = "local processes" if _is_process_pool(executor) else "threads" if isinstance(
        executor, ThreadPoolExecutor) else type(executor).__name__
    return f"{workers} {kind}" if workers else kind


def worker_count(executor: Executor) -> int:
    """How many workers the executor has (1 when it does not say)."""
    client = _dask_client(executor)
    if client is not None:
        return max(1, len(client.scheduler_info().get("workers", {})))
    return int(getattr(executor, "_max_workers", 1) or 1)
