"""The Python API: what ``import dualuse`` offers, the README's "From Python" code, and the plan as frames."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

import dualuse

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_cheap_and_dir_lists_the_api() -> None:
    code = ("import json, sys, dualuse; heavy = ['pyomo', 'geopandas', 'pandas', 'highspy', 'pyogrio'];"
            "print(json.dumps({'dir': dir(dualuse), 'loaded': [m for m in heavy if m in sys.modules]}))")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found["loaded"] == []
    assert set(dualuse.__all__) <= set(found["dir"])
    assert {"solve_region", "sweep", "pareto", "read_region", "load_scenario", "load_catalogue", "Plan"} <= set(
        dualuse.__all__)
    for name in dualuse.__all__:
        assert getattr(dualuse, name) is not None
    with pytest.raises(AttributeError):
        dualuse.no_such_function  # noqa: B018


@pytest.mark.parametrize("name", [n for n in dualuse.__all__ if n not in ("__version__", "Plan")])
def test_every_api_function_names_its_parameters(name: str) -> None:
    function = getattr(dualuse, name)
    parameters = inspect.signature(function).parameters.values()
    assert parameters and all(p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in parameters)
    assert function.__doc__ and function.__doc__.strip()


def test_python_m_dualuse_is_the_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "dualuse", "--version"], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"dualuse, version {dualuse.__version__}"


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- from-python:start -->\n```python\n(.*?)```\n<!-- from-python:end -->", text, re.S)
    assert found, "README.md has no From Python snippet between its markers"
    return found.group(1)


def test_the_readme_from_python_code_runs(tmp_path: Path, example_region: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The snippet as printed, run in a folder whose ``data/example_region.gpkg`` is the small test region."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "example_region.gpkg").symlink_to(example_region)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_snippet(), "README.md", "exec"), namespace)
    plan, kpis, swept = namespace["plan"], namespace["kpis"], namespace["swept"]
    assert plan.scenario.budget_usd == 2e7 and (tmp_path / "plan.gpkg").exists()
    # the frames are the written plan's
    written = pyogrio.read_dataframe(tmp_path / "plan.gpkg", layer="plan")
    parcels = namespace["parcels"]
    assert parcels.crs == written.crs and len(parcels) == len(written)
    assert np.allclose(parcels["share_solar"], written["share_solar"])
    summary = pyogrio.read_dataframe(tmp_path / "plan.gpkg", layer="summary", read_geometry=False).set_index("kpi")
    assert np.allclose(kpis["value"], summary.loc[kpis.index, "plan"].astype(float))
    assert np.allclose(kpis["change"], kpis["value"] - kpis["baseline"], equal_nan=True)
    # the sweep's rows: the larger budget spends more and gives no less access
    rows = swept.rows.set_index("budget_usd").sort_index()
    assert list(rows["status"]) == ["optimal", "optimal"]
    assert rows["cost_usd"].iloc[0] <= 5e6 * (1 + 1e-9) and rows["access"].iloc[1] >= rows["access"].iloc[0] - 1e-9
    assert (tmp_path / "budgets" / "results.gpkg").exists()
    assert "optimal" in capsys.readouterr().out


def test_the_plan_frame_recomputes_from_the_shares(example_region: Path) -> None:
    """``to_geodataframe`` in the region's CRS, one row per parcel; areas and shares agree with the plan."""
    from dualuse.vocabulary import USES

    plan = dualuse.solve_region(example_region)
    frame = plan.to_geodataframe()
    region = dualuse.read_region(example_region)
    assert frame.crs == region.parcels.crs and frame.geometry.name == "geom"
    assert list(frame["parcel_id"].astype(str)) == list(region.parcels["parcel_id"].astype(str))
    shares = frame[[f"share_{u}" for u in USES]].to_numpy()
    assert np.allclose(shares.sum(axis=1), 1.0, atol=1e-6)
    area_solar = float((frame["area_ha"] * frame["share_solar"]).sum())
    assert area_solar == pytest.approx(plan.kpis["area_solar_ha"], rel=1e-6, abs=1e-6)
    assert float(frame["cost_usd"].sum()) <= plan.scenario.budget_usd * (1 + 1e-6)
    assert isinstance(plan.kpis_frame(), pd.DataFrame) and plan.kpis_frame().loc["access", "unit"] == "share"


def test_the_economics_are_the_summarys_economic_rows(example_region: Path) -> None:
    """``Plan.economics`` (what ``solve --json`` reports) holds the summary table's economic rows, in order."""
    plan = dualuse.solve_region(example_region)
    rows = {row["kpi"]: row["plan"] for row in plan.summary().to_dict("records")
            if row["kpi"] == "lcoe_pv_usd_mwh" or row["kpi"].startswith("net_benefit_")}
    assert list(plan.economics().items()) == list(rows.items())
