"""A commented sweep file (``dualuse new sweep``): the form :mod:`dualuse.studies.spec` reads, with every
parameter of the base scenario listed and one grid axis to start from."""

from __future__ import annotations

from dualuse.inputs.scenario import PARAMETER_BY_NAME, PARAMETERS, load_scenario
from dualuse.inputs.templates import comment, toml_value
from dualuse.studies.spec import FIXED_IN_SWEEP

#: The grid axis the template starts with: the budget at a third, two thirds and all of the default [share].
BUDGET_STEPS = (1 / 3, 2 / 3, 1.0)


def starting_grid() -> dict[str, list[float]]:
    """The one axis of the template's ``[grid]``: ``budget_usd`` at :data:`BUDGET_STEPS` of the default."""
    budget_usd = load_scenario().budget_usd
    return {"budget_usd": [float(f"{budget_usd * step:.6g}") for step in BUDGET_STEPS]}


def sweep_template() -> str:
    """A sweep file: a ``[base]`` that is the default scenario (every parameter listed, commented out),
    a ``[grid]`` of one axis, and ``[[scenarios]]`` and ranges shown in comments."""
    scenario = load_scenario()
    lines = comment("dualuse sweep: a base scenario, a [grid] whose product is swept, and optional named "
                    "[[scenarios]] of overrides, each crossed with the grid. Run it with "
                    "`dualuse sweep REGION.gpkg THIS_FILE -o RESULTS_DIR`; re-running skips the scenarios "
                    "already finished.")
    lines += ["", 'description = "capital budget"', ""]
    lines += comment('The base scenario: the default one with the changes of this table (or name a scenario '
                     'file instead: base = "my_scenario.toml", relative to this file). Uncomment a line to '
                     "change it; the values shown are the defaults.")
    lines.append("[base]")
    for p in PARAMETERS:
        value = getattr(scenario, p.name)
        fixed = " (a sweep solves with 1 thread per worker)" if p.name in FIXED_IN_SWEEP else ""
        lines.append(f"# {p.name} = {toml_value(list(value) if isinstance(value, tuple) else value)}"
                     f"  # [{p.unit}] {p.describe_range()}{fixed}")
    lines.append("")
    lines += comment("The grid: parameter = [values], or a range {start = A, stop = B, num = N} (both ends "
                     "included), e.g. ldn_target = {start = 0.0, stop = 0.08, num = 5}. Every combination "
                     "is one scenario.")
    lines.append("[grid]")
    lines += [f"{name} = {toml_value(values)}  # [{PARAMETER_BY_NAME[name].unit}]"
              for name, values in starting_grid().items()]
    lines.append("")
    lines += comment("Named scenarios (optional): each sets some parameters that the grid does not vary, "
                     "and is crossed with the grid.")
    lines += ["# [[scenarios]]", '# name = "stricter food floor"', "# food_floor = 1.0", ""]
    return "\n".join(lines).rstrip() + "\n"
