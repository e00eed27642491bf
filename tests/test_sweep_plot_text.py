"""A sweep's plots draw user text as written: scenario names, drought year names in the shadow prices' titles and
parameter values with dollar signs are never read as mathtext (an unpaired or broken "$x^$" would refuse to draw).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib
import pandas as pd
import pyogrio
import pytest
from helpers import parcel, write_region

from dualuse.inputs.scenario import load_scenario
from dualuse.studies.plots import plot_specs, render_plots
from dualuse.studies.sweep import run_sweep

NAMES = ("$5 well", "$x^$")
BASE = dict(ldn_scope="off", weight_access=0.0, weight_productivity=0.0, weight_energy=1.0, food_floor=0.5,
            budget_usd=1e8)


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two parcels, two communities and two drought years, each named with dollar signs."""
    path = tmp_path_factory.mktemp("plottext") / "region.gpkg"
    write_region(path, [parcel("cropland", parcel_id="A", productivity_t_ha=2.0, community_id=NAMES[0]),
                        parcel("grassland", parcel_id="C", productivity_t_ha=2.0, protected=True,
                               community_id=NAMES[1])],
                 communities=[{"community_id": n, "unserved_households": 10} for n in NAMES])
    years = {"A": (1.0, 1.5), "C": (0.2, 1.0)}
    rows = [{"parcel_id": p, "scenario": s, "productivity_t_ha": v} for p, by in years.items()
            for s, v in zip(NAMES, by)]
    pyogrio.write_dataframe(pd.DataFrame(rows), path, layer="productivity_scenarios", driver="GPKG")
    return path


def test_a_sweep_with_dollar_signs_in_its_names_writes_its_plots(region: Path, tmp_path: Path) -> None:
    base = load_scenario().replace(**BASE)
    scenarios = {NAMES[0]: base.replace(drought_food_floor=0.4), NAMES[1]: base.replace(drought_food_floor=0.6)}
    with ThreadPoolExecutor(max_workers=1) as executor:
        result = run_sweep(region, scenarios, executor, output=tmp_path / "sweep", plans=False, progress=False)
    assert result.varied == ["drought_food_floor"]
    assert set(result.rows["status"]) == {"optimal"}
    shadows = [f"shadow_drought_floor_{n}" for n in NAMES]
    assert all(c in result.rows.columns for c in shadows)
    written = {p.name for p in (tmp_path / "sweep" / "plots").glob("*.png")}
    assert {f"{c}_vs_drought_food_floor.png" for c in shadows} <= written
    assert all((tmp_path / "sweep" / "plots" / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in written)


def test_titles_and_labels_with_dollar_signs_draw_as_written() -> None:
    frame = pd.DataFrame({"status": "optimal", "drought_scope": ["every_scenario", "expected"] * 2,
                          "budget_usd": [1e6, 1e6, 2e6, 2e6], "energy_mwh": [1.0, 2.0, 3.0, 4.0],
                          "shadow_community_$x^$": [0.1, 0.2, 0.3, 0.4]})
    specs = plot_specs(frame, ["drought_scope", "budget_usd"], {"shadow_community_$x^$": "USD/MWh"})
    assert any(s.metric == "shadow_community_$x^$" for s in specs)
    before = matplotlib.rcParams["text.parse_math"]
    pictures = render_plots(frame, specs)
    assert len(pictures) == len(specs) and all(p[:4] == b"\x89PNG" for p in pictures.values())
    assert matplotlib.rcParams["text.parse_math"] == before   # the global settings are left as they were
