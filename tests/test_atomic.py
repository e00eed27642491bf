"""Nothing lost, nothing half-written: killed writes, refused targets.

The kill tests stop a real ``dualuse solve`` process while its plan is being
written.  They watch the output folder for the temporary file, freeze the
process with SIGSTOP the moment it appears (so the signal is known to land
mid-write, not before or after), then send the signal and let it run on.

- SIGTERM is what ``kill``, ``timeout``, systemd and batch schedulers send:
  it must end the run cleanly — the earlier plan byte for byte intact, no
  temporary file left, exit 143, a message.
- SIGKILL cannot be caught: the temporary file stays behind (the earlier
  plan is still intact, since it is only ever replaced by a rename), and
  the next write to the same destination removes it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dualuse.cli import cli
from dualuse.errors import OutputError
from dualuse.files import TEMP_MARK, atomic_path, check_output_path
from dualuse.inputs.scenario import load_scenario
from dualuse.prepare.example import write_example
from dualuse.run import solve_region

SOLVE = [sys.executable, "-c", "from dualuse.cli import main; main()", "solve"]


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("atomic") / "region.gpkg"
    write_example(path, parcels=150, seed=4)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temporaries(output: Path) -> list[Path]:
    return sorted(output.parent.glob(f".{output.stem}{TEMP_MARK}*"))


def freeze_mid_write(region: Path, output: Path) -> tuple[subprocess.Popen, Path]:
    """Start `dualuse solve`, and SIGSTOP it while its temporary plan file exists."""
    for _ in range(3):  # the write lasts a few hundred ms; a poll misses it only on a starved machine
        process = subprocess.Popen(SOLVE + [str(region), "-o", str(output), "--overwrite", "--set", "budget_usd=2e7"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            if temporaries(output):
                process.send_signal(signal.SIGSTOP)
                present = temporaries(output)
                if present:
                    return process, present[0]
                process.send_signal(signal.SIGCONT)  # it finished in between
            time.sleep(0.0005)
        process.communicate(timeout=300)
    pytest.fail("never caught the plan being written")


def earlier_plan_then_frozen_rewrite(region: Path, tmp_path: Path
                                     ) -> tuple[Path, str, subprocess.Popen[str], Path]:
    """A plan written once, then a second run frozen while it writes: (output, its digest, process, temporary)."""
    output = tmp_path / "plan.gpkg"
    solve_region(region, output, scenario=load_scenario())
    before = digest(output)
    process, temp = freeze_mid_write(region, output)
    return output, before, process, temp


@pytest.mark.slow
def test_sigterm_mid_write_keeps_the_earlier_plan_and_leaves_no_temporary(region: Path, tmp_path: Path) -> None:
    output, before, process, temp = earlier_plan_then_frozen_rewrite(region, tmp_path)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "terminated while writing" in stderr and "unchanged" in stderr and "Traceback" not in stderr
    assert digest(output) == before
    assert not temp.exists() and temporaries(output) == []


@pytest.mark.slow
def test_sigkill_mid_write_keeps_the_earlier_plan_and_the_next_run_clears_up(region: Path, tmp_path: Path) -> None:
    output, before, process, temp = earlier_plan_then_frozen_rewrite(region, tmp_path)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert digest(output) == before
    assert temp.exists()  # nothing can run on SIGKILL
    plan = solve_region(region, output, scenario=load_scenario(sets={"budget_usd": "2e7"}))
    assert temporaries(output) == []
    assert digest(output) != before and plan.scenario.budget_usd == 2e7


def test_a_failed_write_leaves_the_destination_as_it_was(tmp_path: Path) -> None:
    destination = tmp_path / "plan.gpkg"
    destination.write_bytes(b"SQLite format 3\x00 an earlier plan")
    with pytest.raises(RuntimeError), atomic_path(destination) as temp:
        temp.write_bytes(b"half a plan")
        raise RuntimeError("disk full")
    assert destination.read_bytes() == b"SQLite format 3\x00 an earlier plan"
    assert temporaries(destination) == []


def test_writing_over_the_input_is_refused(region: Path) -> None:
    before = digest(region)
    result = CliRunner().invoke(cli, ["solve", str(region), "-o", str(region)])
    assert result.exit_code == 2
    assert "is the input file" in result.stderr
    assert digest(region) == before


def test_a_target_open_elsewhere_is_refused_before_any_solve(tmp_path: Path) -> None:
    """A -wal file beside the target means another program (QGIS) has it open; the region is not even read."""
    output = tmp_path / "plan.gpkg"
    output.write_bytes(b"SQLite format 3\x00 the plan QGIS has open")
    Path(f"{output}-wal").write_bytes(b"")
    result = CliRunner().invoke(cli, ["solve", str(tmp_path / "no-such-region.gpkg"), "-o", str(output), "--json",
                                      "--overwrite"])
    assert result.exit_code == 2
    assert "open in another program" in result.stderr and "plan.gpkg-wal" in result.stderr
    assert "no such file" not in result.stderr
    assert output.read_bytes() == b"SQLite format 3\x00 the plan QGIS has open"


def test_an_output_folder_that_cannot_be_written_is_a_clear_error_before_any_solve(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
    else:  # permission bits do not bind root: use a folder of a file system that takes no files
        folder = Path("/sys")
        try:
            (folder / ".dualuse-probe").touch()
        except OSError:
            pass
        else:
            (folder / ".dualuse-probe").unlink()
            pytest.skip("no unwritable folder available")
    result = CliRunner().invoke(cli, ["solve", str(tmp_path / "no-such-region.gpkg"), "-o",
                                      str(folder / "plan.gpkg")])
    assert result.exit_code == 2
    assert "is not writable" in result.stderr and "no such file" not in result.stderr
    result = CliRunner().invoke(cli, ["solve", "r.gpkg", "-o", str(tmp_path / "missing" / "plan.gpkg")])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_a_file_that_is_not_a_geopackage_is_not_replaced(tmp_path: Path) -> None:
    notes = tmp_path / "notes.gpkg"
    notes.write_text("field notes, not a plan", encoding="utf-8")
    with pytest.raises(OutputError, match="is not a GeoPackage"):
        check_output_path(notes)
    assert notes.read_text(encoding="utf-8") == "field notes, not a plan"


def test_a_dead_runs_temporary_goes_with_its_sqlite_journal_and_wal(tmp_path: Path) -> None:
    from dualuse.files import process_alive

    dead = next(pid for pid in range(4_000_000, 4_100_000) if not process_alive(pid))
    left = [tmp_path / f".plan{TEMP_MARK}{dead}-abc{suffix}" for suffix in (".gpkg", ".gpkg-journal", ".gpkg-wal")]
    alive = tmp_path / f".plan{TEMP_MARK}{os.getpid()}-def.gpkg-journal"
    for path in (*left, alive):
        path.write_bytes(b"x")
    with atomic_path(tmp_path / "plan.gpkg") as temp:
        temp.write_bytes(b"plan")
    assert not any(path.exists() for path in left) and alive.exists()
