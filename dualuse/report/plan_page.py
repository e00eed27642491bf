"""The HTML page of a plan report: headline cards, then one section each for land use, the headline
indicators, land degradation neutrality, energy access, the shadow prices, and the scenario and run.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dualuse.inputs.scenario import PARAMETERS
from dualuse.palette import USE_COLOURS, USE_LABELS
from dualuse.report.drought import drought_section, read_drought_years
from dualuse.report.figure import LABELLED_COMMUNITIES, Figure
from dualuse.report.livelihoods import livelihood_section, livelihood_table
from dualuse.report.numbers import (
    access_table,
    area_by_use_ha,
    format_change,
    format_number,
    format_short,
    format_signed,
    kpi_table,
    objective_sentence,
    shadow_price_sentences,
)
from dualuse.report.page import (
    cards_html,
    escape,
    figure_html,
    page_html,
    sentences_html,
    table_html,
)
from dualuse.report.read import PlanFile
from dualuse.vocabulary import USES

#: How the scenario's ``ldn_scope`` reads in a sentence.
SCOPE_TEXT = {"land_type": "within each land type (like for like)", "region": "over the whole region, pooled",
              "off": "not at all (LDN was off in this scenario; the balance is shown for information)"}
#: Run facts shown in the report, in order: (run column, label).
RUN_FACTS: tuple[tuple[str, str], ...] = (
    ("status", "Status"), ("objective", "Objective"), ("gap", "Relative gap"), ("solver", "Solver"),
    ("solver_version", "Solver version"), ("solver_interface", "Interface"), ("solver_options", "Solver options"),
    ("threads", "Threads"), ("seed", "Seed"), ("dualuse_version", "dualuse version"),
    ("created_utc", "Solved at"), ("input_path", "Input"), ("input_layer", "Input layer"),
    ("input_sha256", "Input SHA-256"), ("scenario_sha256", "Scenario SHA-256"),
    ("catalogue_path", "Catalogue"), ("catalogue_sha256", "Catalogue SHA-256"), ("n_parcels", "Parcels"),
    ("n_variables", "Variables"), ("n_constraints", "Constraints"), ("n_nonzeros", "Non-zeros"),
    ("command", "Command"),
)


def plan_html(pf: PlanFile, figures: list[Figure], ldn: pd.DataFrame, ldn_notes: dict[str, Any],
              stem: str | None = None) -> str:
    """The plan report as one HTML page (figures embedded).

    Parameters
    ----------
    pf : PlanFile — the plan file read
    figures : list of Figure — the map, ``kpis``, ``ldn`` and (with communities) ``access`` figures
    ldn, ldn_notes : the LDN balance and its notes (:func:`~dualuse.report.numbers.ldn_balance`)
    stem : str, optional — the stem of the PNG files beside the page [default: the plan file's]
    """
    stem = stem or pf.path.stem
    by_name = {f.name: f for f in figures}
    sections = [_header(pf), _cards(pf, ldn), _land_use_section(pf, by_name["map"], stem),
                _kpi_section(pf, by_name["kpis"], stem),
                _ldn_section(pf.scenario, ldn, ldn_notes, by_name["ldn"], stem)]
    if pf.has_communities:
        sections.append(_access_section(pf, by_name["access"], stem))
    drought_years = read_drought_years(pf)
    if drought_years is not None and "drought" in by_name:
        sections.append(drought_section(pf, drought_years, by_name["drought"], stem))
    if "livelihoods" in by_name:
        sections.append(livelihood_section(livelihood_table(pf.communities), by_name["livelihoods"], stem))
    sections += [_shadow_price_section(pf), _scenario_and_run_section(pf)]
    return page_html(f"Land-use plan for {pf.region_name}", "\n".join(sections))


def _header(pf: PlanFile) -> str:
    """The title: the region, what was planned, its size, when it was solved and with what status."""
    run = pf.run
    status = str(run.get("status", ""))
    gap = "" if status == "optimal" else " (gap " + format_number(float(run.get("gap", math.nan)), True) + ")"
    return (f"<header><h1>Land-use plan for {escape(pf.region_name)}</h1>"
            f'<p class="sub">Solar PV, agrivoltaics, grazing management and restoration under land '
            f"degradation neutrality · {len(pf.plan):,} parcels, {pf.plan['area_ha'].sum():,.0f} ha · "
            f"solved {escape(run.get('created_utc', ''))} · status {escape(status)}{gap}</p></header>")


def _cards(pf: PlanFile, ldn: pd.DataFrame) -> str:
    """The headline cards: access, demand met, PV, harvest, LDN, cost."""
    land = ldn[ldn["land_type"] != "all land"]
    neutral_count = int(land["neutral"].sum())
    households, unserved = pf.kpi("households_served"), pf.kpi("unserved_households", "baseline")
    ldn_text = ("land types land-degradation neutral" if float(pf.scenario.get("ldn_target", 0) or 0) == 0 else
                "land types meet the LDN target")
    return cards_html([
        ("", format_number(households, digits=0), f"households gaining access, of "
                                                  f"{format_number(unserved, digits=0)} without electricity"),
        ("", format_number(pf.kpi("access"), True), "of the unserved households' demand met"),
        ("", f"{format_number(pf.kpi('capacity_mwp'))} MWp",
         f"PV installed, {format_number(pf.kpi('energy_mwh'), digits=0)} MWh/yr"),
        ("", format_number(pf.kpi("productivity"), True), "of today's harvest kept"),
        ("ok" if neutral_count == len(land) else "bad", f"{neutral_count} of {len(land)}", ldn_text),
        ("", f"USD {pf.kpi('cost_usd') / 1e6:,.1f} M", f"spent of a USD {pf.kpi('budget_usd') / 1e6:,.1f} M budget"),
    ])


def _land_use_section(pf: PlanFile, map_figure: Figure, stem: str) -> str:
    """Section 1: the map, and the area of each use with the parcels where it dominates."""
    areas = area_by_use_ha(pf.plan)
    total_area = max(sum(areas.values()), 1e-12)
    rows = [[f'<span class="swatch" style="background:{USE_COLOURS[u]}"></span>{escape(USE_LABELS[u])}',
             format_number(areas[u], digits=0), format_number(areas[u] / total_area, True),
             f"{int((pf.plan['use'] == u).sum()):,}"] for u in USES]
    return "\n".join([
        "<h2>1. Where each use goes</h2>",
        figure_html(map_figure, "Land-use map of the plan; legend: " + ", ".join(map_figure.legend),
                    "Each parcel is coloured by its dominant use, in the colours of the plan's QGIS style; "
                    "the legend gives the area of each use counting every share of every parcel.", f"{stem}_map.png"),
        table_html([("Use", False), ("Area [ha]", True), ("Share of the region", True),
                    ("Parcels where it dominates", True)], rows),
        _restoration_sentence(pf),
    ])


def _restoration_sentence(pf: PlanFile) -> str:
    """How joined up the restoration is: its patches, the largest, its boundary with unrestored land, and
    what lies outside any patch (empty when the plan file has no connectivity figures or restores nothing)."""
    patches, restored_ha = pf.kpi("restored_patches"), pf.kpi("restored_ha")
    if not math.isfinite(patches) or not restored_ha > 0:
        return ""
    weight = float(pf.scenario.get("restoration_boundary_weight", 0) or 0)
    penalty = (f" The plan pays {format_number(weight)} of objective per km of that boundary "
               "(restoration_boundary_weight)." if weight > 0 else "")
    largest = format_number(pf.kpi("largest_patch_ha"), digits=0)
    return (f"<p>Restoration covers {format_number(restored_ha, digits=0)} ha in {patches:,.0f} patch(es) of "
            f"adjacent parcels more than half restored (the largest {largest} ha), with "
            f"{format_number(pf.kpi('restored_boundary_km'))} km of boundary with unrestored land; "
            f"{format_number(pf.kpi('restored_outside_patches_ha'), digits=0)} ha are restored on parcels at most "
            f"half restored.{penalty}</p>")


def _kpi_section(pf: PlanFile, kpi_figure: Figure, stem: str) -> str:
    """Section 2: the headline indicators today and with the plan, as a chart and a table."""
    rows = [[escape(r.label), escape(r.unit), format_number(r.today, r.percent), format_number(r.plan, r.percent),
             format_change(r.change, r.percent)] for r in kpi_table(pf).itertuples()]
    return "\n".join([
        "<h2>2. Headline indicators: today and with the plan</h2>",
        figure_html(kpi_figure, "Headline indicators, today and with the plan",
                    "Grey: today (every parcel under its current use, nothing delivered). Blue: the plan. "
                    "Dashed lines: the reference named beside them.", f"{stem}_kpis.png"),
        table_html([("Indicator", False), ("Unit", False), ("Today", True), ("Plan", True), ("Change", True)], rows),
        '<p class="note">Changes of a share are in percentage points (pp): from 40 % to 50 % is +10 pp.</p>',
    ])


def _ldn_section(s: dict[str, Any], ldn: pd.DataFrame, ldn_notes: dict[str, Any], ldn_figure: Figure,
                 stem: str) -> str:
    """Section 3: what the scenario requires, the balance per land type (chart, verdicts, table) and notes."""
    scope = str(s.get("ldn_scope"))
    parts = [
        "<h2>3. Land degradation neutrality</h2>",
        f'<p>The scenario requires the net LDN balance — area improving minus area degraded at the '
        f'{escape(format_short(s.get("horizon_years", "")))}-year horizon (SDG 15.3.1) — to reach '
        f'{float(s.get("ldn_target", 0) or 0):.1%} of the area, {escape(SCOPE_TEXT.get(scope, scope))}.</p>',
        figure_html(ldn_figure, "LDN balance per land type",
                    "Bars: area improving (green) and degraded (red) with the plan; black diamond: the net; "
                    "white diamond: the net today; bar: the target.", f"{stem}_ldn.png"),
        sentences_html([f'<span class="{"ok" if r.neutral else "bad"}">{"✔" if r.neutral else "✘"}</span> '
                        f"{escape(r.verdict)}" for r in ldn.itertuples()]),
        _ldn_table(ldn),
    ]
    notes = _ldn_notes(ldn_notes)
    if notes:
        parts.append('<p class="note">' + " ".join(escape(n) for n in notes) + "</p>")
    return "\n".join(parts)


def _ldn_table(ldn: pd.DataFrame) -> str:
    """The LDN balance per land type, with the total of all land last."""
    rows = [[escape(r.label), format_number(r.area_ha, digits=0), format_number(r.gains_ha, digits=0),
             format_number(r.losses_ha, digits=0), format_signed(r.net_ha), format_signed(r.target_ha),
             format_signed(r.baseline_net_ha),
             '<span class="ok">neutral</span>' if r.neutral else f'<span class="bad">{r.shortfall_ha:,.0f} ha short'
                                                                 "</span>"] for r in ldn.itertuples()]
    return table_html([("Land type", False), ("Area [ha]", True), ("Gains [ha]", True), ("Losses [ha]", True),
                       ("Net [ha]", True), ("Target [ha]", True), ("Net today [ha]", True), ("Verdict", False)],
                      rows, total=True)


def _ldn_notes(ldn_notes: dict[str, Any]) -> list[str]:
    """How the balance is counted, under which baseline assumption, and what it leaves out (water)."""
    assumption = ("the baseline status holds, so only what the plan changes counts" if ldn_notes["baseline"] == "stable"
                  else "baseline trends persist to the horizon (business as usual)")
    notes = [f"Gains and losses are counted as Trends.Earth counts them: the 7-class status at the horizon, "
             f"classes 6–7 gains and 1–2 losses, assuming {assumption} (ldn_baseline = {ldn_notes['baseline']}); "
             "the KPI table gives the net balance under both assumptions."]
    if ldn_notes["water_ha"] > 0:
        notes.append(f"Water bodies ({ldn_notes['water_ha']:,.0f} ha) are not land and are left out (SDG 15.3.1).")
    return notes


def _access_section(pf: PlanFile, access_figure: Figure, stem: str) -> str:
    """Section 4: how power reaches households, the chart, and the table of every community (folded when long)."""
    access = access_table(pf.communities)
    table = _access_table_html(access)
    if len(access) > LABELLED_COMMUNITIES:
        table = f"<details><summary>Every community ({len(access):,})</summary>{table}</details>"
    return "\n".join([
        "<h2>4. Energy access by community</h2>",
        f"<p>Power from a community's own parcels reaches its households through a mini-grid and "
        f"storage ({float(pf.scenario.get('delivery_efficiency', math.nan)):.0%} of generation arrives); the "
        f"rest goes to the grid.</p>",
        figure_html(access_figure, "Energy access by community",
                    "Light bars: the yearly demand of the households without electricity today; blue: "
                    "the part the plan serves.", f"{stem}_access.png"),
        table,
    ])


def _access_table_html(access: pd.DataFrame) -> str:
    """Households, demand and what is served per community, with the total of all communities last."""
    rows = [[escape(r.community_id), format_number(r.unserved_households, digits=0),
             format_number(r.demand_mwh, digits=0), format_number(r.served_mwh, digits=0),
             format_number(r.households_served, digits=0), format_number(r.access_share, True)]
            for r in access.itertuples()]
    totals = access[["unserved_households", "demand_mwh", "served_mwh", "households_served"]].sum()
    demand_total = float(totals["demand_mwh"])
    rows.append(["All communities", format_number(totals["unserved_households"], digits=0),
                 format_number(demand_total, digits=0), format_number(totals["served_mwh"], digits=0),
                 format_number(totals["households_served"], digits=0),
                 format_number(float(totals["served_mwh"]) / demand_total if demand_total > 0 else math.nan, True)])
    return table_html([("Community", False), ("Households without electricity", True), ("Demand [MWh/yr]", True),
                       ("Served [MWh/yr]", True), ("Households gaining access", True), ("Demand met", True)],
                      rows, total=True)


def _shadow_price_section(pf: PlanFile) -> str:
    """Section 5: the objective, and what each binding limit would buy if relaxed (the shadow prices)."""
    sentences = shadow_price_sentences(pf)
    parts = ["<h2>5. What would buy more: the shadow prices</h2>", f"<p>{escape(objective_sentence(pf))}</p>"]
    if sentences:
        parts.append(sentences_html([escape(t) for t in sentences]))
        parts.append('<p class="note">Shadow prices hold for small changes around this plan; a larger change is '
                     "best measured with a sweep (<code>dualuse sweep</code>).</p>")
    else:
        parts.append('<p class="note">This run has no shadow prices (a whole-parcel or minimum-plant-size plan is '
                     "a MILP, which has none); a sweep over the parameter measures the same trade-off.</p>")
    return "\n".join(parts)


def _scenario_and_run_section(pf: PlanFile) -> str:
    """Section 6: every scenario parameter (changed ones marked) and the facts of the run."""
    return "\n".join(["<h2>6. Scenario and run</h2>", "<h3>Scenario parameters</h3>", _scenario_table(pf.scenario),
                      "<h3>Run</h3>", _run_table(pf.run)])


def _scenario_table(scenario: dict[str, Any]) -> str:
    """The scenario's parameters in the order of the parameter table, values that differ from the default in
    bold with the default beside them; parameters it does not know last."""
    rows = []
    known = [p for p in PARAMETERS if p.name in scenario]
    for p in known:
        value = scenario[p.name]
        changed = value != p.default
        text = escape(format_short(value))
        rows.append([f"<code>{escape(p.name)}</code>", f'<span class="changed">{text}</span>' if changed else text,
                     escape(p.unit), escape(p.help) + (f' <span class="note">(default {escape(p.default)})</span>'
                                                       if changed else "")])
    for name in sorted(set(scenario) - {p.name for p in known}):
        rows.append([f"<code>{escape(name)}</code>", escape(scenario[name]), "", ""])
    return table_html([("Parameter", False), ("Value", True), ("Unit", False), ("Meaning", False)], rows)


def _run_table(run: dict[str, Any]) -> str:
    """The facts of the run (:data:`RUN_FACTS`), the library versions, and the time of each stage."""
    rows = []
    for key, label in RUN_FACTS:
        if key not in run or run[key] is None or (isinstance(run[key], float) and math.isnan(run[key])):
            continue
        value = run[key]
        text = (f"{value:.6g}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int)
                and not isinstance(value, bool) else str(value))
        cell = f'<span class="mono">{escape(text)}</span>' if "sha256" in key or key in ("command", "solver_options") \
            else escape(text)
        rows.append([escape(label), cell])
    versions = ", ".join(f"{k[len('version_'):]} {v}" for k, v in run.items() if k.startswith("version_") and v)
    if versions:
        rows.append(["Library versions", escape(versions)])
    timings = [(k[len("time_"):].removesuffix("_s"), v) for k, v in run.items()
               if k.startswith("time_") and isinstance(v, (int, float))]
    if timings:
        total = sum(v for _, v in timings)
        rows.append(["Time [s]", escape(f"{total:.2f} in all: " + ", ".join(f"{k} {v:.2f}" for k, v in timings))])
    return table_html([("Fact", False), ("Value", False)], rows)
