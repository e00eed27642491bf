"""dualuse: land-use planning for energy access and land productivity under land degradation neutrality.

The public API, imported on first use so that ``import dualuse`` stays light:

- :func:`solve_region` — read a region, solve one scenario, write the plan (``dualuse solve``)
- :func:`sweep` — many scenarios, local or on Dask (``dualuse sweep``)
- :func:`pareto` — a trade-off front by the ε-constraint method (``dualuse pareto``)
- :func:`portfolio` — near-optimal plans that differ as much as they can (``dualuse portfolio``)
- :func:`no_regret` — the no-regret map of a study's plans (``dualuse no-regret``)
- :func:`pareto_nd` — a front between three or more KPIs (``dualuse pareto --against A --against B``)
- :func:`read_region`, :func:`load_scenario`, :func:`load_catalogue` — the inputs
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> (module, attribute)
_API: dict[str, tuple[str, str]] = {
    "solve_region": ("dualuse.run", "solve_region"),
    "rerun_plan": ("dualuse.run", "rerun_plan"),
    "sweep": ("dualuse.studies.sweep", "run_sweep"),
    "pareto": ("dualuse.studies.pareto", "run_pareto"),
    "portfolio": ("dualuse.studies.portfolio", "run_portfolio"),
    "no_regret": ("dualuse.studies.no_regret", "write_no_regret"),
    "pareto_nd": ("dualuse.studies.pareto_nd", "run_pareto_nd"),
    "read_region": ("dualuse.inputs.region", "read_region"),
    "load_scenario": ("dualuse.inputs.scenario", "load_scenario"),
    "load_catalogue": ("dualuse.inputs.catalogue", "load_catalogue"),
    "Plan": ("dualuse.plan", "Plan"),
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        module, attribute = _API[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'dualuse' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
