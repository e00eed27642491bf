"""A solve without a plan as the typed error the caller raises: infeasible (explained), time limit, unbounded."""

from __future__ import annotations

from dualuse.diagnose.explain import NOT_EXPLAINED, explain_budget_s, explain_infeasibility
from dualuse.diagnose.messages import infeasibility_message
from dualuse.errors import DualuseError, InfeasibleError, TimeLimitError, UnboundedError
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.solve.highs import SolveResult, Status


def raise_for_status(result: SolveResult, coef: Coefficients, scenario: Scenario, explain: bool = True,
                     time_limit_s: float | None = None, explain_time_limit_s: float | None = None) -> None:
    """Raise the typed error for a result without a plan; nothing for a plan.

    Parameters
    ----------
    explain : for an infeasible scenario, explain in policy terms which requirements conflict and
        how far each parameter must move (extra solves, :func:`~dualuse.diagnose.explain.explain_infeasibility`)
    time_limit_s : the limit the solve ran under [s] [default: the scenario's ``time_limit_s``]
    explain_time_limit_s : the explanation's time budget [s]; 0 for none [default:
        :func:`~dualuse.diagnose.explain.explain_budget_s` of the solve's time]

    Raises
    ------
    InfeasibleError, TimeLimitError, UnboundedError, DualuseError
    """
    if result.status.has_plan:
        return
    if result.status is Status.INFEASIBLE:
        if explain:
            budget_s = (explain_budget_s(result.timings.get("highs_s")) if explain_time_limit_s is None
                        else explain_time_limit_s)
            explanation = explain_infeasibility(coef, scenario, time_limit_s, budget_s)
        else:
            explanation = [NOT_EXPLAINED]
        raise InfeasibleError(infeasibility_message(explanation), explanation)
    if result.status is Status.TIME_LIMIT:
        limit = scenario.time_limit_s if time_limit_s is None else time_limit_s
        raise TimeLimitError(f"the time limit of {limit:g} s passed before any plan was found; "
                             "raise --time-limit, or use mode=share (an LP) instead of a MILP")
    if result.status is Status.UNBOUNDED:
        raise UnboundedError("the model is unbounded: a coefficient in the catalogue or a custom constraint "
                             "leaves an objective term without limit")
    raise DualuseError(f"HiGHS stopped with status '{result.solver.get('model_status')}'")
