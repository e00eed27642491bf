"""The HTML report of a plan and of a sweep: numbers re-derived from the plan file, figures checked by their
pixels, the page rendered in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from PIL import Image

from dualuse.cli import cli
from dualuse.errors import InfeasibleError, InputError, OutputError
from dualuse.inputs.scenario import load_scenario
from dualuse.palette import USE_COLOURS, USE_LABELS, rgb
from dualuse.prepare.example import write_example
from dualuse.report.columns import classify_columns
from dualuse.report.html import write_report
from dualuse.report.numbers import (
    access_table,
    kpi_table,
    ldn_balance,
    shadow_price_sentences,
)
from dualuse.report.read import read_plan_file, read_sweep_folder
from dualuse.report.sweep_page import sweep_html
from dualuse.run import solve_region
from dualuse.vocabulary import USES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Chromium's flags for an offline, headless, reproducible render (run as root, hence no sandbox).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="module")
def region(folder: Path) -> Path:
    path = folder / "region.gpkg"
    write_example(path, parcels=300, seed=7)
    return path


@pytest.fixture(scope="module")
def plan_path(folder: Path, region: Path) -> Path:
    path = folder / "plan.gpkg"
    # baseline trends persist: degraded land left alone is a loss, so restoration takes whole parcels
    solve_region(region, path, scenario=load_scenario(sets={"budget_usd": "2e7", "ldn_baseline": "persist"}))
    return path


@pytest.fixture(scope="module")
def report(folder: Path, plan_path: Path):  # noqa: ANN201 - a Report
    out = folder / "out" / "ministry.html"
    out.parent.mkdir()
    return write_report(plan_path, out)


@pytest.fixture(scope="module")
def page(report) -> str:  # noqa: ANN001
    return report.html.read_text(encoding="utf-8")


def _plan_layer(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(path, layer="plan", engine="pyogrio")


def _summary(path: Path) -> dict[str, tuple[float, float]]:
    summary = pd.DataFrame(pyogrio.read_dataframe(path, layer="summary", read_geometry=False))
    return {k: (b, p) for k, b, p in zip(summary["kpi"], summary["baseline"], summary["plan"])}


# --------------------------------------------------------------------------- the file


def test_report_is_one_self_contained_file_with_its_figures_beside_it(report, page: str) -> None:  # noqa: ANN001
    names = sorted(p.name for p in report.pngs)
    assert names == ["ministry_access.png", "ministry_kpis.png", "ministry_ldn.png", "ministry_livelihoods.png",
                     "ministry_map.png"]
    assert sorted(p.name for p in report.html.parent.iterdir()) == sorted([*names, "ministry.html"])
    # nothing fetched from anywhere: no external src/href, no script, no stylesheet link
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", page)
    assert "<script" not in page.lower() and "<link" not in page.lower() and "url(" not in page
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == len(names)
    on_disk = {p.read_bytes() for p in report.pngs}
    assert {base64.b64decode(e) for e in embedded} == on_disk  # the same figures, embedded and beside


def test_kpi_table_is_the_summary_baseline_and_plan(plan_path: Path, page: str) -> None:
    summary = _summary(plan_path)
    table = kpi_table(read_plan_file(plan_path))
    assert {"energy_mwh", "capacity_mwp", "households_served", "access", "productivity_t", "productivity",
            "restored_ha", "sdg_degraded_ha", "ldn_net_stable_ha", "ldn_net_persist_ha", "cost_usd",
            "budget_usd"} <= set(table["kpi"])
    for row in table.itertuples():
        assert row.today == pytest.approx(summary[row.kpi][0], nan_ok=True)
        assert row.plan == pytest.approx(summary[row.kpi][1])
    assert f"{summary['households_served'][1]:,.0f}" in page
    assert f"{summary['capacity_mwp'][1]:,.2f}" in page


# --------------------------------------------------------------------------- LDN balance


def _hand_plan() -> pd.DataFrame:
    """Five whole parcels and one split: cropland gains 100 ha and loses 50 ha; grassland loses 200 ha,
    and a split parcel of 40 ha gains 20 ha and loses 10 ha; the water parcel would lose 30 ha but is not land."""
    frame = pd.DataFrame({
        "land_type": ["cropland", "Cropland", "grassland", "grassland", "water", "cropland"],
        "area_ha": [100.0, 50.0, 200.0, 40.0, 30.0, 10.0],
        "ldn_gain_ha": [100.0, 0.0, 0.0, 20.0, 0.0, 0.0],
        "ldn_loss_ha": [0.0, 50.0, 200.0, 10.0, 30.0, 0.0],
        "degradation": [0, -1, -1, 0, 0, 1],
    })
    for k, u in enumerate(USES):
        frame[f"share_{u}"] = 1.0 if u == "current" else 0.0
    frame.loc[3, ["share_current", "share_restoration"]] = [0.75, 0.25]
    return frame


def test_ldn_balance_by_hand() -> None:
    table, notes = ldn_balance(_hand_plan(), {"ldn_target": 0.1, "ldn_scope": "land_type", "ldn_baseline": "persist"})
    rows = table.set_index("land_type")
    assert list(rows.index) == ["cropland", "grassland", "all land"]  # water left out, case folded
    assert rows.loc["cropland", ["area_ha", "gains_ha", "losses_ha", "net_ha", "target_ha"]].tolist() == \
        pytest.approx([160.0, 100.0, 50.0, 50.0, 16.0])
    assert rows.loc["grassland", ["area_ha", "gains_ha", "losses_ha", "net_ha", "target_ha"]].tolist() == \
        pytest.approx([240.0, 20.0, 210.0, -190.0, 24.0])
    assert rows.loc["cropland", "neutral"] and not rows.loc["grassland", "neutral"]
    assert rows.loc["grassland", "shortfall_ha"] == pytest.approx(214.0)
    assert rows.loc["all land", "net_ha"] == pytest.approx(-140.0)
    assert rows.loc["cropland", ["baseline_gains_ha", "baseline_losses_ha"]].tolist() == pytest.approx([10.0, 50.0])
    assert rows.loc["grassland", "baseline_net_ha"] == pytest.approx(-200.0)
    assert rows.loc["grassland", "verdict"].startswith("Grassland falls short of the net-gain target")
    assert "214 ha short" in rows.loc["grassland", "verdict"]
    assert notes["water_ha"] == 30.0 and notes["split_ha"] == 40.0 and notes["baseline"] == "persist"


def test_ldn_balance_of_a_solved_plan_agrees_with_its_summary_and_constraint(plan_path: Path, page: str) -> None:
    pf = read_plan_file(plan_path)
    summary = _summary(plan_path)
    table, _ = ldn_balance(pf.plan, pf.scenario)
    plan = _plan_layer(plan_path)
    land = plan["land_type"].str.lower()
    net = (plan["ldn_gain_ha"] - plan["ldn_loss_ha"]).groupby(land).sum()
    area = plan["area_ha"].groupby(land).sum()
    rows = table.set_index("land_type")
    balance = pd.DataFrame(pyogrio.read_dataframe(plan_path, layer="ldn_balance", read_geometry=False))
    constrained = set(balance.loc[balance["in_constraint"].astype(bool), "land_type"])
    assert constrained and "artificial" not in constrained  # no use can move settlements' balance
    for land_type in rows.index.drop("all land"):
        assert rows.loc[land_type, "net_ha"] == pytest.approx(net[land_type], abs=1e-6)
        assert rows.loc[land_type, "target_ha"] == pytest.approx(pf.scenario["ldn_target"] * area[land_type])
        if land_type in constrained:
            assert rows.loc[land_type, "neutral"]  # the plan was solved with LDN per land type
            assert f"{rows.loc[land_type, 'label']} is neutral" in page
    assert "water" not in rows.index
    assert rows.loc["all land", "gains_ha"] == pytest.approx(summary["ldn_gain_ha"][1], rel=1e-6, abs=1e-6)
    assert rows.loc["all land", "losses_ha"] == pytest.approx(summary["ldn_loss_ha"][1], rel=1e-6, abs=1e-6)
    assert rows.loc["all land", "net_ha"] == pytest.approx(summary["ldn_net_ha"][1], abs=1e-6)
    # the written balance table holds the same numbers under the run's baseline, and the other baseline beside
    held = balance[balance["held_to"].astype(bool)].set_index("land_type")
    for land_type in rows.index.drop("all land"):
        assert held.loc[land_type, "net_ha"] == pytest.approx(rows.loc[land_type, "net_ha"], abs=1e-6)
    assert set(balance["ldn_baseline"]) == {"stable", "persist"}
    other = balance[~balance["held_to"].astype(bool)]
    assert other["net_ha"].sum() == pytest.approx(summary[f"ldn_net_{other['ldn_baseline'].iloc[0]}_ha"][1], abs=1e-6)


def test_a_plan_without_ldn_says_which_land_types_are_not_neutral(folder: Path, region: Path) -> None:
    path = folder / "no_ldn.gpkg"
    solve_region(region, path, scenario=load_scenario(sets={"ldn_scope": "off", "budget_usd": "2e7"}))
    plan = _plan_layer(path)
    net = (plan["ldn_gain_ha"] - plan["ldn_loss_ha"]).groupby(plan["land_type"].str.lower()).sum().drop(
        "water", errors="ignore")
    assert (net < -1).any(), "precondition: without LDN some land type loses ground"
    pf = read_plan_file(path)
    table, _ = ldn_balance(pf.plan, pf.scenario)
    rows = table.set_index("land_type")
    for land_type, value in net.items():
        assert bool(rows.loc[land_type, "neutral"]) == (value >= -1e-6 * rows.loc[land_type, "area_ha"])
        if value < -1:
            assert rows.loc[land_type, "verdict"].startswith(f"{land_type.capitalize()} is not neutral")
            assert f"{-value:,.0f} ha short" in rows.loc[land_type, "verdict"]


# --------------------------------------------------------------------------- access and shadow prices


def test_access_table_is_the_communities_layer(plan_path: Path, page: str) -> None:
    communities = pd.DataFrame(pyogrio.read_dataframe(plan_path, layer="communities", read_geometry=False))
    table = access_table(read_plan_file(plan_path).communities).set_index("community_id")
    assert len(table) == len(communities) > 0
    for row in communities.itertuples():
        got = table.loc[row.community_id]
        assert got.demand_mwh == pytest.approx(row.demand_mwh)
        assert got.served_mwh == pytest.approx(row.served_mwh)
        assert got.households_served == pytest.approx(row.households_served)
        assert got.access_share == pytest.approx(row.served_mwh / row.demand_mwh if row.demand_mwh else 0.0)
        assert f"<td>{row.community_id}</td>" in page


def test_shadow_prices_read_as_sentences_in_households(plan_path: Path) -> None:
    pf = read_plan_file(plan_path)
    summary = _summary(plan_path)
    sentences = shadow_price_sentences(pf)
    shadows = {k: v[1] for k, v in summary.items() if k.startswith("shadow_")}
    assert len(sentences) == len(shadows) > 0
    budget = shadows["shadow_budget"]
    assert budget > 0, "precondition: a USD 20 M budget binds in this region"
    households = budget * summary["unserved_households"][0] / pf.scenario["weight_access"]
    assert households >= 10, "precondition: USD 1 M buys many households here"
    (sentence,) = [s for s in sentences if "USD 1 M" in s]
    assert f"by about {budget:.3g}" in sentence and f"about {households:,.0f} more households" in sentence
    idle = [k for k, v in shadows.items() if abs(v) < 1e-12]
    assert sum("not binding" in s or "would not improve" in s for s in sentences) == len(idle)


# --------------------------------------------------------------------------- the map


def _packed(image: Image.Image) -> np.ndarray:
    """Every pixel's colour as one integer 0xRRGGBB."""
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(np.int32)
    return (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]


def test_map_holds_the_colour_of_every_use_in_the_plan_and_lists_each_in_its_legend(plan_path: Path,
                                                                                     report) -> None:  # noqa: ANN001
    plan = _plan_layer(plan_path)
    present = [u for u in USES if (plan["use"] == u).any()]
    assert len(present) >= 2, "precondition: the plan uses more than one use"
    figure = next(f for f in report.figures if f.name == "map")
    assert figure.data["uses"] == present
    assert [label for label in figure.legend if label in USE_LABELS.values()] == [USE_LABELS[u] for u in present]
    colours, counts = np.unique(_packed(Image.open(io.BytesIO(figure.png))), return_counts=True)
    assert len(colours) > 10
    found = dict(zip(colours.tolist(), counts.tolist()))
    for use in present:
        r, g, b = rgb(USE_COLOURS[use])
        assert found.get((r << 16) | (g << 8) | b, 0) >= 20, f"{use} is not on the map"
    assert figure.data["scale_bar_m"] > 0 and figure.data["crs"] == "EPSG:32632"


def test_map_of_a_plan_in_degrees_is_drawn_in_metres(folder: Path) -> None:
    region = gpd.read_file(folder / "region.gpkg", layer="parcels").to_crs("EPSG:4326")
    path = folder / "region_4326.gpkg"
    region.to_file(path, layer="parcels", engine="pyogrio")
    communities = pyogrio.read_dataframe(folder / "region.gpkg", layer="communities", read_geometry=False)
    pyogrio.write_dataframe(communities, path, layer="communities")
    plan_path = folder / "plan_4326.gpkg"
    solve_region(path, plan_path, scenario=load_scenario(sets={"budget_usd": "2e7"}))
    report = write_report(plan_path, folder / "plan_4326.html")
    figure = next(f for f in report.figures if f.name == "map")
    assert figure.data["crs"] == "EPSG:32632"  # the UTM zone of the region, whose CRS is in degrees
    assert str(figure.data["scale_bar_m"])[0] in "125"
    assert abs(figure.data["north_deg"]) < 5


# --------------------------------------------------------------------------- the browser


def _chromium(*args: str, user_data: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={user_data}", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


_PROBE = """<script>
window.addEventListener("error", function (e) { document.title = "ERROR " + (e.message || e.target.src); }, true);
window.addEventListener("load", function () {
  // at "load" every image has loaded or failed: a failed one has naturalWidth 0
  var images = Array.prototype.slice.call(document.images);
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    sizes: images.map(function (i) { return (i.complete ? i.naturalWidth : 0) + "x" + i.naturalHeight; }),
    legends: images.map(function (i) { return i.getAttribute("data-legend"); }),
    height: document.documentElement.scrollHeight, title: document.title});
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium); "
                                              "`make test` installs it where it can")
def test_report_renders_in_headless_chromium(report, page: str, plan_path: Path, folder: Path) -> None:  # noqa: ANN001
    probe_page = folder / "probe.html"
    probe_page.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    run = _chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--window-size=1280,800",
                    "--dump-dom",
                    probe_page.as_uri(), user_data=folder / "chromium-probe")
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the page did not finish loading: {run.stderr[-2000:]}"
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], f"console messages: {console}"
    assert not probe["title"].startswith("ERROR"), probe["title"]
    assert len(probe["sizes"]) == len(report.figures) == 5
    for size, figure in zip(probe["sizes"], report.figures):
        width, height = (int(v) for v in size.split("x"))
        assert width > 0 and height > 0
        assert (width, height) == Image.open(io.BytesIO(figure.png)).size
    present = [USE_LABELS[u] for u in USES if (_plan_layer(plan_path)["use"] == u).any()]
    map_legend = probe["legends"][0].split(";")
    assert all(label in map_legend for label in present)

    screenshot = folder / "report-screenshot.png"
    _chromium(f"--window-size=1280,{min(int(probe['height']), 16000)}", f"--screenshot={screenshot}",
              report.html.as_uri(), user_data=folder / "chromium-shot")
    shot = Image.open(screenshot)
    assert shot.size == (1280, min(int(probe["height"]), 16000))
    assert len(np.unique(_packed(shot))) > 50
    print(f"screenshot: {screenshot}")  # noqa: T201 - shown with pytest -s


# --------------------------------------------------------------------------- sweeps


def _sweep_row(plan, name: str, varied: dict[str, float]) -> dict:  # noqa: ANN001
    row = {"id": plan.scenario.sha256[:12], "name": name, **varied, "status": plan.status.value, "message": "",
           "objective": plan.objective, **plan.kpis,
           **{f"shadow_{s['name']}": s["value"] for s in plan.shadow_prices},
           "solve_s": sum(plan.result.timings.values())}
    return row


@pytest.fixture(scope="module")
def sweep_folder(folder: Path, region: Path) -> Path:
    """Three scenarios solved and written as the sweep writes them: results.csv and plans/<id>.gpkg."""
    results = folder / "sweep"
    (results / "plans").mkdir(parents=True)
    rows = []
    for name, budget, target in (("low", 1e7, 0.0), ("high", 3e7, 0.0), ("strict", 3e7, 0.6)):
        scenario = load_scenario(sets={"budget_usd": budget, "ldn_target": target})
        varied = {"budget_usd": budget, "ldn_target": target}
        try:
            plan = solve_region(region, scenario=scenario, explain=False)
        except InfeasibleError as exc:
            rows.append({"id": scenario.sha256[:12], "name": name, **varied, "status": "infeasible",
                         "message": str(exc)})
            continue
        rows.append(_sweep_row(plan, name, varied))
        from dualuse.export.gpkg import write_plan
        write_plan(plan, results / "plans" / f"{scenario.sha256[:12]}.gpkg")
    pd.DataFrame(rows).to_csv(results / "results.csv", index=False)
    return results


def test_sweep_report_plots_each_kpi_against_each_varied_parameter(sweep_folder: Path) -> None:
    table = pd.read_csv(sweep_folder / "results.csv")
    assert list(table["status"]) == ["optimal", "optimal", "infeasible"], "precondition"
    report = write_report(sweep_folder)
    assert report.html == sweep_folder / "report.html"
    page = report.html.read_text(encoding="utf-8")
    columns = classify_columns(table)
    assert columns["varied"] == ["budget_usd", "ldn_target"]
    by_name = {f.name: f for f in report.figures}
    # the LDN target varies, but the scenarios with a plan share one value: nothing to draw against it
    assert set(by_name) == {"sweep_budget_usd", "sweep_budget_usd_shadow"}
    feasible = table[table["status"] == "optimal"].sort_values("budget_usd")
    for kpi in ("objective", "access", "households_served", "cost_usd"):
        x, y = by_name["sweep_budget_usd"].data[kpi]  # the LDN target of every plan is 0: one line
        assert list(x) == list(feasible["budget_usd"]) and list(y) == pytest.approx(list(feasible[kpi]))
    # the budget buys more: the objective does not fall as the budget grows
    assert feasible["objective"].is_monotonic_increasing
    # every scenario is in the table, the infeasible one with its status and message
    assert all(f"<td>{name}</td>" in page for name in table["name"])
    assert '<span class="bad">infeasible</span>' in page
    assert sorted(p.name for p in report.pngs) == sorted(f"report_{n}.png" for n in by_name)


def test_sweep_report_reads_the_gpkg_table_when_there_is_no_csv(sweep_folder: Path, folder: Path) -> None:
    results = folder / "sweep_gpkg"
    results.mkdir()
    table = pd.read_csv(sweep_folder / "results.csv")
    pyogrio.write_dataframe(table.astype({"message": object, "name": object, "status": object, "id": object}),
                            results / "results.gpkg", layer="sweep", driver="GPKG")
    sweep = read_sweep_folder(results)
    assert sweep.table_source.endswith("(table sweep)")
    pd.testing.assert_frame_equal(sweep.table[table.columns], table, check_dtype=False)
    assert "<td>strict</td>" in sweep_html(sweep, [], "sweep")


# --------------------------------------------------------------------------- the command and bad input


def test_cli_report_writes_beside_the_plan_by_default(plan_path: Path, folder: Path) -> None:
    copy = folder / "cli" / "my plan.gpkg"
    copy.parent.mkdir()
    shutil.copy(plan_path, copy)
    result = CliRunner().invoke(cli, ["report", str(copy), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["html"] == str(copy.with_suffix(".html")) and Path(out["html"]).is_file()
    assert all(Path(p).is_file() and Path(p).parent == copy.parent for p in out["pngs"])


def _files(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


@pytest.mark.parametrize("case", ["region", "missing", "not_gpkg", "no_summary", "empty_dir", "bad_output"])
def test_bad_input_gets_one_message_exit_2_and_no_output(case: str, folder: Path, region: Path,
                                                         plan_path: Path) -> None:
    work = folder / f"bad_{case}"
    work.mkdir()
    out = work / "out"
    out.mkdir()
    source = {"region": region, "missing": work / "nowhere.gpkg", "not_gpkg": work / "notes.gpkg",
              "no_summary": work / "plan.gpkg", "empty_dir": work / "results", "bad_output": plan_path}[case]
    expected = {"region": "layer 'plan'", "missing": "no such file", "not_gpkg": "not a GeoPackage",
                "no_summary": "layer 'summary'", "empty_dir": "neither sweep results",
                "bad_output": "must end in .html"}[case]
    if case == "not_gpkg":
        source.write_text("plain text", encoding="utf-8")
    elif case == "no_summary":
        shutil.copy(plan_path, source)
        with sqlite3.connect(source) as con:
            con.execute("DROP TABLE summary")
            con.execute("DELETE FROM gpkg_contents WHERE table_name = 'summary'")
    elif case == "empty_dir":
        source.mkdir()
    target = out / ("report.txt" if case == "bad_output" else "report.html")
    result = CliRunner().invoke(cli, ["report", str(source), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert _files(out) == []
    with pytest.raises(OutputError if case == "bad_output" else InputError):
        write_report(source, target)
    assert _files(out) == []


def test_an_interrupted_write_leaves_no_partial_report(plan_path: Path, folder: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    out = folder / "interrupted"
    out.mkdir()
    (out / "plan.html").write_text("earlier report", encoding="utf-8")
    calls = {"n": 0}
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr("dualuse.files.os.replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(plan_path, out / "plan.html")
    assert (out / "plan.html").read_text(encoding="utf-8") == "earlier report"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_the_page_is_written_last_so_a_report_cut_short_has_none(plan_path: Path, folder: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = folder / "cut_short"
    out.mkdir()
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        if str(dst).endswith(".html"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr("dualuse.files.os.replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(plan_path, out / "plan.html")
    assert _files(out) == ["plan_access.png", "plan_kpis.png", "plan_ldn.png", "plan_livelihoods.png", "plan_map.png"]


def test_temporaries_a_killed_report_left_are_removed_by_the_next(plan_path: Path, folder: Path) -> None:
    out = folder / "killed"
    out.mkdir()
    gone = 2 ** 22 + 1  # above Linux's largest process id: no such process
    stale = [out / f".plan.tmp-{gone}-x1.html", out / f".plan_map.tmp-{gone}-x2.png"]
    for path in stale:
        path.write_bytes(b"half")
    write_report(plan_path, out / "plan.html")
    assert not any(p.exists() for p in stale)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_front_folder_alone_gets_its_front_and_points_table(folder: Path) -> None:
    front = folder / "front"
    front.mkdir()
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (31, 78, 121)).save(buffer, format="PNG")
    (front / "front.png").write_bytes(buffer.getvalue())
    points = pd.DataFrame({"point": [0, 1, 2], "role": ["end", "inner", "end"], "maximise": "access",
                           "against": "productivity", "status": "optimal", "access": [1.0, 0.8, 0.5],
                           "productivity": [0.9, 0.95, 1.0], "scenario": '{"budget_usd": 60000000.0}'})
    points.to_csv(front / "front.csv", index=False)
    report = write_report(front)
    page = report.html.read_text(encoding="utf-8")
    assert report.pngs == [] and report.figures == []
    assert base64.b64encode(buffer.getvalue()).decode("ascii") in page
    # columns headed by their labels with units, the page titled for what it is
    assert '<th class="num">Unserved demand met [share]</th>' in page
    assert '<th class="num">Harvest relative to today</th>' in page
    assert "<h1>Trade-off front of unserved demand met against harvest relative to today: front</h1>" in page
    assert "Policy sweep" not in page
    assert "budget_usd" not in page  # the scenario JSON stays in the CSV


def test_a_whole_parcel_plan_without_communities(folder: Path) -> None:
    from helpers import parcel, write_region

    parcels = [parcel("bare", degradation=-1), parcel("cropland", productivity_t_ha=2.0),
               parcel("grassland", productivity_t_ha=1.0)]
    region = write_region(folder / "tiny.gpkg", parcels, areas_ha=[50.0, 100.0, 80.0])
    plan_path = folder / "tiny_plan.gpkg"
    solve_region(region, plan_path, scenario=load_scenario(sets={"mode": "whole", "budget_usd": "1e6",
                                                                 "ldn_scope": "region"}))
    report = write_report(plan_path)
    page = report.html.read_text(encoding="utf-8")
    assert [f.name for f in report.figures] == ["map", "kpis", "ldn"]
    assert "Energy access by community" not in page
    assert "has no shadow prices" in page  # a MILP has no duals
    plan = _plan_layer(plan_path)
    figure = report.figures[0]
    assert figure.data["uses"] == [u for u in USES if (plan["use"] == u).any()]
    assert "Community" not in figure.legend


# --------------------------------------------------------------------------- reading and printing


def test_sweep_charts_keep_their_grouping_for_ten_values(folder: Path) -> None:
    results = folder / "sweep_ten"
    results.mkdir()
    budgets, targets = [1e7, 2e7, 4e7], [round(0.05 * k, 2) for k in range(10)]
    rows = [{"id": f"s{b:.0f}_{t}", "name": f"b{b:.0e} t{t}", "budget_usd": b, "ldn_target": t, "status": "optimal",
             "objective": b / 1e7 - t, "access": min(1.0, b / 4e7) * (1 - t)} for b in budgets for t in targets]
    pd.DataFrame(rows).to_csv(results / "results.csv", index=False)
    report = write_report(results)
    by_name = {f.name: f for f in report.figures}
    against_budget = by_name["sweep_budget_usd"].data
    # one line per LDN target, each through the three budgets in order: no zig-zag through all of them
    lines = {k: v for k, v in against_budget.items() if k.startswith("access|")}
    assert len(lines) == len(targets)
    for target in targets:
        x, y = lines[f"access|{target:g}"]
        assert list(x) == budgets
        assert list(y) == pytest.approx([min(1.0, b / 4e7) * (1 - target) for b in budgets])
    against_target = by_name["sweep_ldn_target"].data
    assert sorted(k for k in against_target if k.startswith("objective|")) == sorted(
        f"objective|{b:,.0f}" for b in budgets)
    page = report.html.read_text(encoding="utf-8")
    assert "Budget [USD]" in page and "LDN net-gain target [share of area]" in page  # labels with units
    assert "<h1>Policy sweep: sweep_ten</h1>" in page


def _renamed_plan(plan_path: Path, target: Path, names: dict[str, str]) -> Path:
    """A copy of a plan whose communities are renamed (in both layers)."""
    shutil.copyfile(plan_path, target)
    for layer in ("plan", "communities"):
        frame = gpd.read_file(plan_path, layer=layer, engine="pyogrio")
        frame["community_id"] = frame["community_id"].replace(names)
        pyogrio.write_dataframe(frame, target, layer=layer, driver="GPKG")
    return target


def test_user_text_is_escaped_for_html_and_drawn_as_written(plan_path: Path, folder: Path) -> None:
    communities = pd.DataFrame(pyogrio.read_dataframe(plan_path, layer="communities", read_geometry=False))
    first, second, third = communities["community_id"].iloc[:3]
    # "$...$" is matplotlib's mathtext, and "$x^$" is bad mathtext: user text must be drawn as it is written
    names = {first: "$5 well", second: "<script>alert(1)</script> & co", third: "Spring $x^$ (east)"}
    renamed = _renamed_plan(plan_path, folder / "renamed.gpkg", names)
    report = write_report(renamed, folder / "renamed.html")
    page = report.html.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page and "$5 well" in page
    access = next(f for f in report.figures if f.name == "access")
    assert {"$5 well", "Spring $x^$ (east)"} <= set(access.legend)


def test_share_changes_are_in_percentage_points(page: str, plan_path: Path) -> None:
    summary = _summary(plan_path)
    today, plan = summary["access"]
    row = re.search(r"<td>Share of unserved demand met</td>(.*?)</tr>", page, re.S)
    assert row, "the KPI table has the access row"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[-1] == f"{100 * (plan - today):+.1f} pp"
    assert cells[1] == f"{today:.1%}" and cells[2] == f"{plan:.1%}"


_PRINT_PROBE = """<script>
window.addEventListener("load", function () {
  var main = document.querySelector("main");
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(Array.prototype.map.call(document.querySelectorAll("table"), function (t) {
    return [t.scrollWidth, main.clientWidth, t.getBoundingClientRect().right, main.getBoundingClientRect().right];
  }));
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_printed_tables_fit_the_page(folder: Path, sweep_folder: Path) -> None:
    # the print rules applied on screen, in a window as wide as an A4 landscape page's text (273 mm)
    page = write_report(sweep_folder, folder / "print_sweep.html").html.read_text(encoding="utf-8")
    assert "@media print" in page and "size: A4 landscape" in page
    screen = page.replace("@media print", "@media all").replace("</body>", _PRINT_PROBE + "</body>")
    probe_page = folder / "print_probe.html"
    probe_page.write_text(screen, encoding="utf-8")
    run = _chromium("--virtual-time-budget=10000", f"--window-size={round(273 / 25.4 * 96)},800", "--dump-dom",
                    probe_page.as_uri(), user_data=folder / "chromium-print")
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, run.stderr[-2000:]
    tables = json.loads(found.group(1).replace("&quot;", '"'))
    assert tables, "the page has tables"
    for scroll_width, main_width, right, main_right in tables:
        assert scroll_width <= main_width + 1 and right <= main_right + 1, (scroll_width, main_width)


def test_a_third_varied_parameter_gets_a_chart_per_value(folder: Path) -> None:
    from dualuse.report.charts import sweep_figures
    from dualuse.report.read import SweepFolder

    rows = [{"budget_usd": b, "ldn_target": t, "max_pv_share": m, "status": "optimal", "objective": b / 1e7 - t + m}
            for b in (1e7, 2e7, 3e7) for t in (0.0, 0.1) for m in (0.1, 0.3)]
    figures = {f.name: f for f in sweep_figures(SweepFolder(folder, pd.DataFrame(rows), "", [], {}))}
    # against the budget: lines by one parameter, a chart per value of the other; every line is monotone in x
    assert {"sweep_budget_usd_1", "sweep_budget_usd_2"} <= set(figures)
    for name in ("sweep_budget_usd_1", "sweep_budget_usd_2"):
        assert len(figures[name].data) == 2
        for x, y in figures[name].data.values():
            assert list(x) == [1e7, 2e7, 3e7] and np.all(np.diff(y) > 0)
    assert "—" in figures["sweep_budget_usd_1"].title
