"""A sweep's scenarios seed each other along chains fixed by the sweep itself, so plans do not depend on
how the work is spread: the order in which jobs run, or what a resumed run finds already done."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dualuse.prepare.example import write_example
from dualuse.studies.executor import CHAIN_LENGTH, chains
from dualuse.studies.spec import parse_sweep
from dualuse.studies.store import TIMING_COLUMNS
from dualuse.studies.sweep import run_sweep

BUDGETS_USD = [1.0e6, 1.5e6, 2.0e6, 2.5e6, 3.0e6, 3.5e6]
SPEC = {"base": {"ldn_scope": "region"}, "grid": {"budget_usd": BUDGETS_USD}}


class OneWorker(Executor):
    """One worker thread that takes the jobs once the sweep has submitted them (no new one for 0.2 s), in
    submission order or reversed."""

    def __init__(self, reverse: bool = False) -> None:
        self.reverse = reverse
        self.waiting: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []
        self.lock = threading.Lock()
        self.runner: threading.Thread | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self.lock:
            self.waiting.append((future, fn, args))
            if self.runner is None or not self.runner.is_alive():
                self.runner = threading.Thread(target=self._run, daemon=True)
                self.runner.start()
        return future

    def _run(self) -> None:
        seen = -1
        while True:
            with self.lock:
                if len(self.waiting) == seen:
                    jobs, self.waiting, self.runner = self.waiting, [], None
                    break
                seen = len(self.waiting)
            time.sleep(0.2)
        for future, fn, args in (reversed(jobs) if self.reverse else jobs):
            try:
                future.set_result(fn(*args))
            except Exception as exc:  # noqa: BLE001 - handed to the sweep as the worker's failure
                future.set_exception(exc)


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chains") / "region.gpkg"
    write_example(path, parcels=150, seed=11)
    return path


def rows(result: Any) -> pd.DataFrame:
    return result.rows.drop(columns=[c for c in TIMING_COLUMNS if c != "seeded"]).sort_values("id").reset_index(drop=True)


def test_chains_are_fixed_by_the_order_and_seed_what_is_left() -> None:
    everything = chains(6, [True] * 6, 4)
    assert everything == [[(0, False), (1, False), (2, False), (3, False)], [(4, False), (5, False)]]
    # a done scenario before a pending one of its chain is solved again only to seed it; one after is not
    assert chains(6, [False, True, False, False, True, False], 4) == [[(0, True), (1, False)], [(4, False)]]
    assert chains(3, [False] * 3, 4) == []


def test_plans_do_not_depend_on_the_order_of_jobs_nor_on_a_resume(region: Path, tmp_path: Path) -> None:
    spec = parse_sweep(SPEC)
    forward = run_sweep(region, spec, OneWorker(), output=tmp_path / "forward", plots=False, plans=False)
    backward = run_sweep(region, spec, OneWorker(reverse=True), output=tmp_path / "backward", plots=False,
                         plans=False)
    pd.testing.assert_frame_equal(rows(forward), rows(backward), check_like=True)
    table = forward.rows.set_index("budget_usd")
    assert set(table["status"]) == {"optimal"}
    # every scenario but the first of its chain starts from its predecessor's duals
    assert table["seeded"].tolist() == [k % CHAIN_LENGTH != 0 for k in range(len(BUDGETS_USD))]
    assert (table["structured_rounds"] > 0).all()

    # a resumed sweep that finds the second scenario of each chain done gives the same rows
    resumed_folder = tmp_path / "resumed"
    first = run_sweep(region, spec, OneWorker(), output=resumed_folder, plots=False, plans=False)
    kept = set(first.rows["id"].iloc[[1, CHAIN_LENGTH + 1]])
    for path in (resumed_folder / "rows").glob("*.json"):
        if path.stem not in kept:
            path.unlink()
    resumed = run_sweep(region, spec, OneWorker(reverse=True), output=resumed_folder, plots=False, plans=False)
    assert (resumed.reused, resumed.solved) == (2, len(BUDGETS_USD) - 2)
    pd.testing.assert_frame_equal(rows(resumed), rows(forward), check_like=True)
