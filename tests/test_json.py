"""Every command's ``--json`` as a script reads it: one strict JSON object alone on stdout, run as a subprocess
(C libraries such as HiGHS print where click's test runner cannot see), with ``schema_version``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _refuse(constant: str) -> None:
    raise ValueError(f"not strict JSON: {constant}")


def dualuse_json(*args: str, code: int = 0) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "dualuse", *args, "--json"], capture_output=True, text=True,
                          env=env, check=False, timeout=300)
    assert done.returncode == code, done.stderr
    payload = json.loads(done.stdout, parse_constant=_refuse)  # the whole of stdout is one object
    assert payload["schema_version"] == 1
    return payload


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("json") / "plan.gpkg"


def test_solve_validate_catalogue_and_report_print_strict_json(plan_file: Path) -> None:
    region = str(ROOT / "data" / "example_region.gpkg")
    solved = dualuse_json("solve", region, "-o", str(plan_file))
    assert solved["status"] == "optimal" and plan_file.exists()
    assert {"kpis", "shadow_prices", "break_even", "warnings"} <= set(solved)
    assert dualuse_json("validate", region)["ok"] is True
    assert dualuse_json("catalogue")["land_cover_matrix"] == "trends_earth_unccd"
    report = dualuse_json("report", str(plan_file), "-o", str(plan_file.with_suffix(".html")))
    assert Path(report["html"]).exists()


def test_a_refused_input_prints_strict_json_with_exit_2(tmp_path: Path) -> None:
    payload = dualuse_json("solve", str(tmp_path / "missing.gpkg"), "-o", str(tmp_path / "p.gpkg"), code=2)
    assert payload["error"] == "InputError" and "missing.gpkg" in payload["message"]


@pytest.mark.slow
def test_pareto_prints_strict_json_without_nan(tmp_path: Path) -> None:
    region = tmp_path / "region.gpkg"
    subprocess.run([sys.executable, "-m", "dualuse", "example", "-o", str(region), "--parcels", "120", "--seed", "3"],
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True)
    front = dualuse_json("pareto", str(region), "--maximise", "access", "--against", "productivity", "--points", "4",
                         "-o", str(tmp_path / "front"), "--workers", "1")
    assert front["points"] and all(p["role"] for p in front["points"])


@pytest.mark.parametrize("args", [["parameters", "--toml"], ["catalogue", "--json"]], ids=["toml", "json"])
def test_a_reader_that_stops_reading_ends_the_command_quietly(args: list[str]) -> None:
    """``dualuse parameters --toml | true``: the pipe's reader is gone before the command writes; it stops
    as a pipe's writer does (128 + SIGPIPE), without a word on stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reader, writer = os.pipe()
    os.close(reader)  # nobody will read
    try:
        done = subprocess.run([sys.executable, "-m", "dualuse", *args], stdout=writer, stderr=subprocess.PIPE,
                              text=True, env=env, check=False, timeout=120)
    finally:
        os.close(writer)
    assert done.returncode == 141, done.stderr
    assert done.stderr == ""


@pytest.mark.slow
def test_sweep_no_regret_and_prepare_print_strict_json(tmp_path: Path) -> None:
    import prepare_fixtures as fx

    region = tmp_path / "region.gpkg"
    subprocess.run([sys.executable, "-m", "dualuse", "example", "-o", str(region), "--parcels", "120", "--seed", "3"],
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True)
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text("[grid]\nbudget_usd = [5e6, 1e7]\n")
    swept = dualuse_json("sweep", str(region), str(sweep_file), "-o", str(tmp_path / "sweep"), "--workers", "1",
                         "--no-plots")
    assert swept["scenarios"] == swept["solved"] == 2 and Path(swept["results"]).exists()
    quiet = subprocess.run([sys.executable, "-m", "dualuse", "sweep", str(region), str(sweep_file), "-o",
                            str(tmp_path / "quiet"), "--workers", "1", "--no-plots", "-q"], capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=300)
    assert quiet.stderr == ""  # -q reaches the workers: not even HiGHS's banner
    agreed = dualuse_json("no-regret", str(tmp_path / "sweep"), "-o", str(tmp_path / "agreement.gpkg"))
    assert agreed["plans"] == 2 and Path(agreed["output"]).exists()
    rasters = {"--pvout": fx.pvout_yearly(tmp_path / "pv.tif"),
               "--productivity": fx.productivity_degrees(tmp_path / "npp.tif"),
               "--soc": fx.soc_with_nodata(tmp_path / "soc.tif"), "--land-cover": fx.land_cover_esa(tmp_path / "lc.tif")}
    prepared = dualuse_json("prepare", str(fx.aoi_square(tmp_path / "aoi.gpkg")), "-o", str(tmp_path / "prep.gpkg"),
                            "--crs", fx.UTM, "--shape", "square", "--cell-ha", "100",
                            *[str(a) for pair in rasters.items() for a in pair])
    assert prepared["parcels"] == 4
