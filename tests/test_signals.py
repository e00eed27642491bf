"""SIGINT and SIGTERM stop a solve inside HiGHS, and a sweep with its workers, within seconds: exit 130 / 143,
one line on stderr, no process left behind, no temporary left in the output folder.  Real processes, as a
terminal, ``timeout`` or a batch scheduler sends the signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from dualuse.files import TEMP_MARK
from dualuse.prepare.example import write_example

ROOT = Path(__file__).resolve().parents[1]
#: How long a stopped run may take to end [s] (HiGHS answers its interrupt callback within a second or so).
STOP_S = 8.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big_region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """35,000 parcels: on the generic LP path HiGHS alone takes seconds."""
    path = tmp_path_factory.mktemp("signals") / "region.gpkg"
    write_example(path, parcels=35_000, seed=11)
    return path


@pytest.fixture(scope="module")
def sweep_region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signals_sweep") / "region.gpkg"
    write_example(path, parcels=15_000, seed=12)
    return path


def start(args: list[str], mark: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUALUSE_TEST_MARK": mark}
    return subprocess.Popen([sys.executable, "-m", "dualuse", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_for_line(process: subprocess.Popen[str], prefix: str) -> list[str]:
    """stderr read line by line until one starts with ``prefix``; the lines read."""
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith(prefix):
            return lines
    pytest.fail(f"the run ended before {prefix!r}: {''.join(lines)}")


def stop(process: subprocess.Popen[str], signum: int, lines: list[str]) -> tuple[str, str, float]:
    """Send ``signum``; stdout, the whole of stderr and how long the process took to end [s]."""
    sent = time.monotonic()
    process.send_signal(signum)
    stdout, rest = process.communicate(timeout=60)
    return stdout, "".join(lines) + rest, time.monotonic() - sent


def processes_marked(mark: str) -> list[int]:
    """Processes whose environment carries ``mark``: the run's children, grandchildren and orphans."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"DUALUSE_TEST_MARK={mark}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def assert_nothing_left(mark: str, folder: Path, allowed: set[str]) -> None:
    deadline = time.monotonic() + 3.0  # an orphan notices its parent's end at once; allow for a loaded machine
    while processes_marked(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_marked(mark) == []
    left = {p.name for p in folder.rglob("*") if p.is_file()}
    assert not any(TEMP_MARK in name for name in left), left
    assert left <= allowed, left


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_a_solve_inside_highs(big_region: Path, tmp_path: Path, signum: int) -> None:
    mark = uuid.uuid4().hex
    out = tmp_path / "plan.gpkg"
    process = start(["solve", str(big_region), "-o", str(out), "--json", "--set", "lp_method=generic"], mark)
    lines = wait_for_line(process, "solve (HiGHS")
    time.sleep(0.5)  # well inside HiGHS's C code
    stdout, stderr, took_s = stop(process, signum, lines)
    assert process.returncode == 128 + signum, stderr
    assert json.loads(stdout) == {"schema_version": 1, "error": "Interrupted", "signal": signum,
                                  "message": f"stopped by {signal.Signals(signum).name}"}
    assert took_s < STOP_S, took_s
    name = signal.Signals(signum).name
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and f"stopped by {name}" in errors[0] and "Traceback" not in stderr
    assert not out.exists()
    assert_nothing_left(mark, tmp_path, set())


def test_sigterm_stops_a_sweep_and_its_workers(sweep_region: Path, tmp_path: Path) -> None:
    mark = uuid.uuid4().hex
    spec = tmp_path / "sweep.toml"
    spec.write_text('[base]\nlp_method = "generic"\n[grid]\nbudget_usd = [5e6, 1e7, 2e7, 3.5e7, 5e7, 7.5e7, 1e8, 2e8]\n')
    results = tmp_path / "results"
    process = start(["sweep", str(sweep_region), str(spec), "-o", str(results), "--workers", "2", "--no-plots"],
                    mark)
    lines = wait_for_line(process, "8 scenarios")
    time.sleep(1.0)  # both workers inside a solve
    _, stderr, took_s = stop(process, signal.SIGTERM, lines)
    assert process.returncode == 143, stderr
    assert took_s < STOP_S, took_s
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "stopped by SIGTERM" in errors[0] and "re-run the same command" in errors[0]
    assert "Traceback" not in stderr
    # what finished is kept, as one row file and one plan per scenario; nothing else, no temporary
    rows = {p.stem for p in (results / "rows").glob("*.json")}
    assert_nothing_left(mark, tmp_path, {"sweep.toml"} | {f"{r}.json" for r in rows} | {f"{r}.gpkg" for r in rows})
