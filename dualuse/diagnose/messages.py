"""The words of the infeasibility explanation: amounts, parameter values and sentences a planner can act on.

The sentences of each constraint family are templates in the families
table (:class:`~dualuse.model.family_table.Words`); this module fills them in,
rounds every suggested value toward feasibility (a budget up, a target
down), and joins the explanation's items into the text the terminal shows.
"""

from __future__ import annotations

import math
from typing import Any

from dualuse.inputs.scenario import PARAMETERS
from dualuse.model.family_table import ELASTIC_FAMILIES, FAMILY, requirement

_PARAMETER = {p.name: p for p in PARAMETERS}


def floor_text(value: float, digits: int = 4) -> str:
    """A bound to lower a parameter to, rounded down so that the rounded value still works."""
    scale = 10 ** digits
    return f"{math.floor(value * scale + 1e-9) / scale + 0.0:g}"


def ceil_text(value: float, digits: int = 0) -> str:
    """A bound to raise a parameter to, rounded up so that the rounded value still works."""
    if digits == 0:
        return f"{math.ceil(value):,}"
    scale = 10 ** digits
    return f"{math.ceil(value * scale - 1e-9) / scale + 0.0:g}"


def usd(value: float, up: bool = False) -> str:
    """An amount of money for a sentence: USD 1.24 M, or USD 25,014 below a million (rounded up if ``up``)."""
    if abs(value) >= 1e6:
        millions = math.ceil(value / 1e4) / 100 if up else value / 1e6
        return f"USD {millions:,.2f} M"
    return f"USD {math.ceil(value) if up else round(value):,}"


def join(items: list[str]) -> str:
    """"a", "a and b", "a, b and c" (duplicates once)."""
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def amount_text(unit: str, amount: float) -> str:
    """A relaxation in its unit: money rounded up, a share as a percentage, anything else to the whole unit."""
    if unit.startswith("share of "):
        return f"{amount:.1%} {unit.removeprefix('share ')}"
    return usd(amount, up=True) if unit == "USD" else f"{amount:,.0f} {unit}"


def value_text(value: float, digits: int) -> str:
    """A parameter's value as given: whole numbers with thousands separators, else as short as exact."""
    return f"{value:,.0f}" if digits == 0 else f"{value:g}"


def toward_feasible(value: float, digits: int, up: bool) -> str:
    """A suggested parameter value, rounded in the direction that keeps it feasible."""
    if up:
        return ceil_text(value, digits)
    return f"{math.floor(value):,}" if digits == 0 else floor_text(value, digits)


def fill(family: str, template: str, group: Any = None, amount: float = 0.0, current: float = 0.0,
         suggested: float = 0.0, measure: float = 0.0, **others: str) -> str:
    """A family's sentence template filled in (the fields of :class:`~dualuse.model.family_table.Words`)."""
    relaxation = FAMILY[family].relaxation
    up = relaxation.slack < 0  # a ≤ row gives way as its parameter rises
    return template.format(requirement=requirement(family, group), amount=amount_text(relaxation.unit, amount),
                           current=value_text(current, relaxation.digits),
                           suggested=toward_feasible(suggested, relaxation.digits, up), value=f"{suggested:.4f}",
                           measure=amount_text(relaxation.unit, measure), **others)


def cannot_alone(parameter: str) -> str:
    return f"changing {parameter} alone cannot make the scenario feasible"


def beyond_range(parameter: str, up: bool) -> str:
    """The sentence for a parameter that would have to move past the end of its range."""
    declared = _PARAMETER[parameter]
    end = declared.hi if up else declared.lo
    text = f"{end:g}".replace("-", "−")
    return f"{'raising' if up else 'lowering'} {parameter} alone, {'up' if up else 'down'} to {text}, cannot make " \
           "the scenario feasible"


def in_range(parameter: str, value: float) -> bool:
    """Is ``value`` within the declared range of the scenario parameter?"""
    declared = _PARAMETER[parameter]
    return (declared.lo is None or value >= declared.lo) and (declared.hi is None or value <= declared.hi)


# --------------------------------------------------------------------------- the explanation as text


def infeasibility_message(explanation: list[dict[str, Any]]) -> str:
    """The explanation as text for the terminal: the conflict, each shortfall, and the fixes.

    One short requirement reads as one sentence with its fixes, e.g. "LDN in
    land type 'bare' needs 1,240 ha more net gain than the budget allows:
    raise the budget by at least USD 0.80 M (…), or lower ldn_target from
    0.05 to −0.0312 or below."
    """
    if not explanation:
        relaxable = join([FAMILY[f].words.name for f in ELASTIC_FAMILIES])
        return (f"the scenario is infeasible: no plan meets every requirement, and relaxing {relaxable} does not "
                "help either; check the catalogue and the input")
    kinds = {kind: [e for e in explanation if e.get("kind") == kind]
             for kind in ("presolve", "conflict", "alone", "fix", "combined")}
    presolve, conflict, alone, combined = kinds["presolve"], kinds["conflict"], kinds["alone"], kinds["combined"]
    fixes = [e for e in kinds["fix"] if e.get("feasible")]
    stuck = [e for e in kinds["fix"] if not e.get("feasible")]
    fix_text = [f["message"] for f in fixes]
    lines: list[str] = []
    names = [e["requirement"] for e in conflict] or sorted({e["requirement"] for e in alone + combined})
    headline = (join(names).replace("LDN", "land degradation neutrality (LDN)", 1)
                + (" cannot all be met." if len(names) > 1 else " cannot be met.")) if names else ""
    if presolve:
        lines.append("the scenario is infeasible, as the pre-solve checks show:")
        lines += [f"  - {e['message']}. Fix: {e['fix']}" for e in presolve]
        if headline:
            lines.append("The solver agrees: " + headline)
    elif headline:
        lines.append("the scenario is infeasible: " + headline)
    # the budget's own shortfall is the first fix; say it as a sentence only when nothing else falls short
    short = [e for e in alone if e["constraint"] != "budget"] or alone
    for e in short:
        sentence = shortfall(e, blockers(e, conflict, fixes))
        tail = (": " + ", or ".join(fix_text) + ".") if len(short) == 1 and fix_text else "."
        lines.append(f"  - {sentence}{tail}")
    if len(short) == 1 and fix_text:
        fix_text = []
    if fix_text:
        lines.append("Any one of these makes it feasible, the rest unchanged:")
        lines += [f"  - {t}" for t in fix_text]
    if stuck:
        lines.append("Not enough on its own: " + "; ".join(f["message"] for f in stuck) + ".")
    if len(combined) > 1 and not presolve:
        lines.append("Least combined relaxation (every requirement moved a little):")
        lines += [f"  - {e['message']}" for e in combined]
    unfinished = [e["message"] for e in explanation if e.get("kind") in ("cut_short", "not_explained")]
    if unfinished and not lines:
        lines.append("the scenario is infeasible: no plan meets every requirement.")
    lines += [f"Note: {text}." for text in unfinished]
    return "\n".join(lines)


def blockers(item: dict[str, Any], conflict: list[dict[str, Any]], fixes: list[dict[str, Any]]) -> list[str]:
    """The other requirements that keep ``item`` from being met, in words.

    Without a computed conflict, a parameter that fixes the scenario alone is
    in every conflict; the family's other rows in the conflict are named
    together (:attr:`~dualuse.model.family_table.Words.others`) when there are several.
    """
    family = item["constraint"]
    if not conflict:
        return [FAMILY[f["constraint"]].words.name for f in fixes
                if f["constraint"] != family and f["parameter"] == FAMILY[f["constraint"]].relaxation.parameter]
    others = [c["requirement"] for c in conflict if c["constraint"] != family]
    same = [c["requirement"] for c in conflict if c["constraint"] == family and c["requirement"] != item["requirement"]]
    if same:
        others.append(FAMILY[family].words.others if len(same) > 1 else same[0])
    return others


def shortfall(item: dict[str, Any], others: list[str]) -> str:
    """What falls short when the requirement ``item`` alone gives way, and what stands in its way."""
    family = item["constraint"]
    reason = f" ({item['reason']})" if item.get("reason") else ""
    allow = (f"than {join(others)} allow" + ("s" if len(others) == 1 else "")) if others else \
        "than any plan can reach"
    return fill(family, FAMILY[family].words.short, item.get("group"), item["relaxation"], allow=allow,
                under=f" under {join(others)}" if others else "", reason=reason,
                meeting=f"meeting {join(others)}" if others else "the requirements")
