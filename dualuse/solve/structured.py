r"""Exact column generation for the share-mode LP, certified on the whole LP by HiGHS.

The share-mode LP has one allocation row per parcel and only a few coupling
rows (:mod:`dualuse.solve.structured_pricing`).  A vertex optimum splits at
most as many parcels as there are coupling rows, and once the coupling
rows' duals are known each parcel's best use is the pair of largest reduced
profit.  :func:`solve_structured` solves it in five steps:

1. *Dual estimate*: the same LP on a sample of parcels, every extensive
   bound scaled by the sample's share (:func:`sample_size`: 10 % of 100,000
   parcels, 2 % of 1,000,000), drawn evenly over the parcels' communities
   (:func:`~dualuse.solve.structured_pricing.stratified_sample`); a sample
   of more than 3,000 parcels is itself solved this way from a smaller one.
   Or the duals of a neighbouring scenario (``dual_estimate``).
2. *Restricted master*: each parcel starts with its best pair under the
   estimate and its near-ties; parcels with one candidate are fixed and
   moved into the coupling rows' bounds, the others keep their row
   (:mod:`dualuse.solve.structured_master`).  HiGHS's simplex solves it from
   the previous master's basis.
3. *Pricing*: the reduced profit of every pair from the master's duals, one
   sparse product and a maximum per parcel; each parcel's best improving
   pair joins the master, until none improves.  A parcel the master puts
   wholly on one pair, its other candidates clearly worse, is fixed again
   (once), which keeps the master small.
4. *Stabilisation*: every coupling row has elastic columns priced at
   :math:`(1 + \rho)|\lambda_0|` (a one-sided box on its dual around the
   estimate), widened when used and dropped once no pair improves and none
   is used; the master is then solved once more without them if one was
   basic.  Without them the first master overspends the estimate's budget
   and un-fixes almost every parcel.
5. *Certificate*: no pair improves, no elastic column is in use, the
   Lagrangian bound at the whole LP's duals equals the objective, and the
   master's basis, extended to every parcel, is accepted by HiGHS as
   optimal for the whole LP in 0 iterations.  The solution, the objective
   and all duals are then HiGHS's for the whole LP.

Otherwise the result says why it is not certified and holds no solution
(the caller solves the LP the general way); or, when HiGHS needed
iterations to finish the whole LP from the extended basis, it holds
HiGHS's optimum with the status :attr:`StructuredStatus.FULL_LP_OPTIMAL`.

Measured by ``make bench`` (``benchmarks/RESULTS.md``: the example region,
the 2-core machine, the whole column generation and check against interior
point with crossover on the whole LP, the same objective): 100,000 parcels
0.9 s against 16.6 s; 1,000,000 parcels 6.4 s against 359 s; 100,000
parcels with a community per 25 parcels and a PV cap binding on few parcels
9.9 s against 30.6 s (the communities' duals are noisy in a sample, and the
first master keeps half the parcels).
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from dualuse.solve.basis import basis_codes, set_basis
from dualuse.solve.handover import LpArrays
from dualuse.solve.quiet import new_highs, run_quietly
from dualuse.solve.structured_master import BASIC, Elastic, Layout, Master, parcel_duals, whole_lp
from dualuse.solve.structured_pricing import (
    PRICE_TOLERANCE,
    Decomposition,
    best_pairs,
    decompose,
    initial_candidates,
    lagrangian_bound,
    reduced_profit,
    restrict,
    row_price_scale,
    stratified_sample,
)

#: Elastic price: (1 + ρ) times the estimate's dual, and at least this share of the row's price scale
#: (:func:`~dualuse.solve.structured_pricing.row_price_scale`).
ELASTIC_MARGIN = 0.05
ELASTIC_FLOOR = 1e-3
#: Factor by which an elastic column's price grows each round it is in use.
ELASTIC_WIDEN = 4.0
#: Near-tie margin of the first master's candidates (share of the duals, :func:`initial_candidates`).
CANDIDATE_MARGIN = 0.001
#: A parcel the master puts wholly on one pair is fixed again when its other candidates are worse by
#: more than this share of the duals (:meth:`~dualuse.solve.structured_master.Master.refix`).
REFIX_MARGIN = 0.001
#: Samples of more parcels than this get their own dual estimate from a smaller sample.
DIRECT_SAMPLE_PARCELS = 3_000
#: Times the elastic prices are raised for an unbounded master before the elastic columns are dropped.
UNBOUNDED_RAISES = 6
#: Rounds of column generation on a sample (its duals are an estimate, converged or not).
SAMPLE_ROUNDS = 30
#: Elastic price of the sample LP's rows (times the row's price scale): it keeps any sample feasible.
SAMPLE_ELASTIC_PRICE = 100.0
#: Relative gap between the Lagrangian bound and the objective that the certificate allows.
GAP_TOLERANCE = 1e-9
#: Simplex iterations the whole-LP check may take before the result is not certified.
CHECK_ITERATION_LIMIT = 10_000
#: An elastic column above this share of 1 + |its row's bound| + its row's largest coefficient is in use.
ELASTIC_USED = 1e-9

_SOLVER_KEYS = frozenset({"solver", "run_crossover", "start_crossover_tolerance", "user_objective_scale",
                          "presolve", "time_limit", "simplex_strategy", "simplex_iteration_limit"})
_STATUS_TEXT = {highspy.HighsModelStatus.kInfeasible: "infeasible", highspy.HighsModelStatus.kUnbounded: "unbounded",
                highspy.HighsModelStatus.kTimeLimit: "time limit reached"}


class StructuredStatus(enum.Enum):
    """How far the structured solve got."""

    CERTIFIED = "certified"              # every part of the certificate holds
    FULL_LP_OPTIMAL = "full_lp_optimal"  # HiGHS finished the whole LP from the extended basis (exact, not 0 iterations)
    NOT_CERTIFIED = "not_certified"      # no solution: solve the LP the general way

    @property
    def has_solution(self) -> bool:
        return self is not StructuredStatus.NOT_CERTIFIED


@dataclass
class Certificate:
    """The figures behind a structured solve's status (objective units of the LP).

    ``max_reduced_cost`` is the largest reduced cost of a pair left out of
    the last master (≤ 0 when none improves); ``lagrangian_bound`` is
    :math:`L(y)` at the whole LP's coupling duals, ``gap`` its distance to the
    objective and ``relative_gap`` that distance in internal units over
    max(1, |objective|); ``check_iterations`` the simplex iterations HiGHS
    took on the whole LP from the extended basis.
    """

    max_reduced_cost: float = math.nan
    lagrangian_bound: float = math.nan
    gap: float = math.nan
    relative_gap: float = math.nan
    check_iterations: int = -1
    elastic_in_use: int = -1
    unfixed_parcels: int = -1
    master_columns: int = -1


@dataclass(eq=False)
class StructuredResult:
    """A structured solve's outcome.

    With a solution (:attr:`StructuredStatus.has_solution`), ``col_value``,
    ``row_dual`` and ``col_dual`` are HiGHS's for the whole LP (every row and
    column), and ``model_status`` and ``highs_version`` say what HiGHS
    answered (the solver itself is let go).  ``coupling_dual`` (the rows
    after the parcels, HiGHS's sign) is then ``row_dual[n_parcels:]``;
    without a solution it is the last master's, a seed for the next solve
    (``dual_estimate``) and nothing more, and ``whole_lp`` is the LP for the
    general solve when the caller let go of its own (:func:`solve_structured`).
    """

    status: StructuredStatus
    reason: str = ""
    objective: float = math.nan
    col_value: np.ndarray = field(default_factory=lambda: np.zeros(0))
    row_dual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    col_dual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    coupling_dual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    model_status: str = ""
    highs_version: str = ""
    whole_lp: LpArrays | None = None
    rounds: int = 0
    certificate: Certificate = field(default_factory=Certificate)
    timings: dict[str, float] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def certified(self) -> bool:
        return self.status is StructuredStatus.CERTIFIED


@dataclass(eq=False)
class _MasterSolve:
    objective: float           # internal, fixed parcels included
    col_value: np.ndarray
    row_dual: np.ndarray
    iterations: int
    warm: bool


@dataclass(eq=False)
class _Generation:
    """Where the rounds ended: the last master's layout, solution and coupling duals."""

    master: Master
    layout: Layout | None = None
    solved: _MasterSolve | None = None
    y: np.ndarray | None = None
    rounds: int = 0
    max_excess: float = math.nan
    converged: bool = False
    reason: str = ""


class _Clock:
    """Wall and CPU seconds per phase (a phase begun inside another counts as the outer one's), and
    the time limit."""

    def __init__(self, limit_s: float) -> None:
        self.start = time.perf_counter()
        self.start_cpu = time.process_time()
        self.limit_s = limit_s if limit_s > 0 else math.inf
        self.seconds: dict[str, float] = {}
        self._open: list[tuple[str, float, float]] = []

    def remaining_s(self) -> float:
        return self.limit_s - (time.perf_counter() - self.start)

    def begin(self, name: str) -> None:
        self._open.append((name, time.perf_counter(), time.process_time()))

    def end(self) -> None:
        name, wall, cpu = self._open.pop()
        if not self._open:
            self.seconds[f"{name}_s"] = self.seconds.get(f"{name}_s", 0.0) + time.perf_counter() - wall
            self.seconds[f"{name}_cpu_s"] = self.seconds.get(f"{name}_cpu_s", 0.0) + time.process_time() - cpu

    def totals(self) -> dict[str, float]:
        return {**self.seconds, "total_s": time.perf_counter() - self.start,
                "total_cpu_s": time.process_time() - self.start_cpu}


def _options(options: dict[str, Any], clock: _Clock, **overrides: Any) -> dict[str, Any]:
    out = {"output_flag": False, **{k: v for k, v in options.items() if k not in _SOLVER_KEYS}, **overrides}
    remaining = clock.remaining_s()
    if math.isfinite(remaining):
        out["time_limit"] = max(remaining, 1e-3)
    return out


def _run(lp: list[LpArrays], options: dict[str, Any],
         basis: tuple[np.ndarray, np.ndarray] | None) -> tuple[highspy.Highs, bool]:
    """Pass the LP in the one-element list ``lp`` to a new HiGHS (and empty the list: HiGHS holds its
    own copy), start from ``basis`` when it is one (as many basic statuses as rows), run; returns the
    solver and whether it started from the basis."""
    h = new_highs(options)
    arrays = lp.pop()
    arrays.pass_to(h)
    num_row = arrays.num_row
    del arrays
    warm = False
    if basis is not None:
        cols, rows = basis
        if int(np.count_nonzero(cols == BASIC) + np.count_nonzero(rows == BASIC)) == num_row:
            warm = set_basis(h, cols, rows)
    run_quietly(h)
    return h, warm


def _solve_master(master: Master, layout: Layout, options: dict[str, Any], clock: _Clock,
                  warm: bool = True) -> _MasterSolve | highspy.HighsModelStatus:
    """Solve one master with HiGHS's simplex; its statuses are kept for the next.  Without an optimum,
    HiGHS's status (an empty master, every parcel fixed and no other column, is its own optimum)."""
    arrays = master.arrays(layout)
    if arrays.num_col == 0 and arrays.num_row == 0:
        return _MasterSolve(objective=arrays.offset, col_value=np.zeros(0), row_dual=np.zeros(0), iterations=0,
                            warm=False)
    h, started_warm = _run([arrays], _options(options, clock, solver="simplex", presolve="off"),
                           master.basis(layout) if warm else None)
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        return status
    basis = h.getBasis()
    master.keep_basis(layout, basis_codes(basis.col_status), basis_codes(basis.row_status))
    solution = h.getSolution()
    return _MasterSolve(objective=float(h.getInfo().objective_function_value),
                        col_value=np.asarray(solution.col_value, dtype=float),
                        row_dual=np.asarray(solution.row_dual, dtype=float),
                        iterations=int(h.getInfo().simplex_iteration_count), warm=started_warm)


def _elastic_in_use(master: Master, layout: Layout, solved: _MasterSolve) -> np.ndarray:
    """Which elastic columns the master uses: above rounding, beside the row's bound and coefficients."""
    el = master.elastic
    value = solved.col_value[layout.n_pairs + master.dec.n_extra:]
    return value > ELASTIC_USED * (1.0 + np.abs(el.bound(master.dec)) + master.row_size[el.row])


def _price(master: Master, layout: Layout, solved: _MasterSolve, refix: bool) -> tuple[np.ndarray, int, float, int]:
    """Add each parcel's best improving pair (after fixing again, with ``refix``, the parcels the master
    settled); returns the master's coupling duals, the number of pairs added, the largest reduced cost
    of a pair left out (internal units) and the number of parcels fixed again."""
    dec = master.dec
    y = solved.row_dual[layout.n_rows:]
    profit = reduced_profit(dec, y)
    mu = parcel_duals(dec, layout, profit, solved.row_dual[:layout.n_rows])
    refixed = 0
    if refix:
        slack = profit[layout.master_pairs] - mu[dec.pair_parcel[layout.master_pairs]]
        refixed = master.refix(layout, slack, REFIX_MARGIN,
                               dec.pair_rows.columns(layout.master_pairs).abs_t_dot(np.abs(y)))
    best_out, pair = best_pairs(dec, np.where(master.active, -np.inf, profit))
    excess = best_out - mu
    improving = np.flatnonzero(excess > PRICE_TOLERANCE)
    master.active[pair[improving]] = True
    finite = excess[np.isfinite(excess)]
    return y, int(improving.size), float(finite.max()) if finite.size else -math.inf, refixed


def _start_master(dec: Decomposition, y0: np.ndarray) -> Master:
    """The first master for estimate ``y0``: each parcel's best pair and near-ties, and the box."""
    price = np.maximum((1.0 + ELASTIC_MARGIN) * np.abs(y0), ELASTIC_FLOOR * row_price_scale(dec))
    return Master(dec, y0, initial_candidates(dec, y0, CANDIDATE_MARGIN), Elastic.for_rows(dec, price))


def _column_generation(master: Master, options: dict[str, Any], max_rounds: int, clock: _Clock,
                       log: list[dict[str, Any]]) -> _Generation:
    """Masters and pricing rounds until no pair improves and no elastic column is in use (then the
    elastic columns are dropped: priced 0 and fixed at 0, which makes a basic one the row's slack)."""
    el = master.elastic
    out = _Generation(master)
    unbounded = 0
    for number in range(1, max_rounds + 1):
        out.rounds = number
        clock.begin("master")
        layout = master.layout()
        solved = _solve_master(master, layout, options, clock)
        clock.end()
        if solved == highspy.HighsModelStatus.kUnbounded and np.any(el.upper > 0):
            # a column the rows hold only at the elastic price: raise it, and in the end drop the
            # elastic columns (a restricted master unbounded without them proves the LP unbounded)
            unbounded += 1
            el.price *= ELASTIC_WIDEN ** 2
            if unbounded > UNBOUNDED_RAISES:
                el.drop()
            continue
        if not isinstance(solved, _MasterSolve):
            out.reason = f"a restricted master ended '{_STATUS_TEXT.get(solved, str(solved))}'"
            return out
        clock.begin("pricing")
        y, added, max_excess, refixed = _price(master, layout, solved, refix=bool(np.any(el.upper > 0)))
        used = _elastic_in_use(master, layout, solved)
        el.price[used] *= ELASTIC_WIDEN
        clock.end()
        out.layout, out.solved, out.y, out.max_excess = layout, solved, y, max_excess
        log.append({"round": number, "unfixed_parcels": layout.n_rows, "master_columns": layout.n_pairs,
                    "added": added, "refixed": refixed, "elastic_in_use": int(used.sum()),
                    "iterations": solved.iterations, "warm": solved.warm,
                    "objective": solved.objective, "max_reduced_cost": max_excess})
        if added or used.any():
            continue
        if np.all(el.upper == 0) or not np.any(el.status == BASIC):
            out.converged = True
            return out
        el.drop()  # a basic elastic column sets its row's dual: solve once more without them
    out.reason = f"pricing still found improving pairs or used elastic columns after {max_rounds} rounds"
    return out


def sample_size(n_parcels: int) -> int:
    """Parcels in the dual-estimate sample: 10 % up to 200,000 parcels, 20,000 up to 1,000,000, then 2 %."""
    return min(n_parcels // 10, max(n_parcels // 50, 20_000))


def _estimate_duals(dec: Decomposition, options: dict[str, Any], clock: _Clock, fraction: float | None,
                    seed: int) -> np.ndarray:
    """Coupling duals (internal units) of the LP on a random sample of parcels (:func:`restrict`)."""
    n = dec.n_parcels
    size = sample_size(n) if fraction is None else min(n, int(round(fraction * n)))
    if size < 1:
        return np.zeros(dec.n_coupling)
    rng = np.random.default_rng(seed)
    parcels = stratified_sample(dec, size, rng)
    sample = restrict(dec, parcels, size / n)
    if size > DIRECT_SAMPLE_PARCELS:
        y0 = _estimate_duals(sample, options, clock, None, seed + 1)
        generation = _column_generation(_start_master(sample, y0), options, SAMPLE_ROUNDS, clock, [])
        return y0 if generation.y is None else generation.y
    price = SAMPLE_ELASTIC_PRICE * row_price_scale(sample)
    master = Master(sample, np.zeros(sample.n_coupling), np.ones(sample.n_pairs, dtype=bool),
                    Elastic.for_rows(sample, price))
    layout = master.layout()
    solved = _solve_master(master, layout, options, clock, warm=False)
    if not isinstance(solved, _MasterSolve):
        return np.zeros(dec.n_coupling)
    y = solved.row_dual[layout.n_rows:].copy()
    y[master.elastic.row[_elastic_in_use(master, layout, solved)]] = 0.0  # a row the sample could not meet
    return y


@dataclass(eq=False)
class _Check:
    """What HiGHS answered on the whole LP (the solver itself let go: it holds gigabytes at 1M parcels)."""

    status: highspy.HighsModelStatus
    status_text: str
    version: str
    warm: bool
    iterations: int
    optimal: bool                       # optimal, with a feasible primal and dual solution
    objective: float
    solution: highspy.HighsSolution | None


def _check_full_lp(dec: Decomposition, master: Master, options: dict[str, Any], clock: _Clock) -> _Check:
    """Run HiGHS's simplex on the whole LP from the master's basis extended to every parcel.

    The LP is made again from ``dec`` (:func:`~dualuse.solve.structured_master.whole_lp`: the same
    numbers, column-wise, which HiGHS takes in a third of the time a row-wise matrix needs) and let go
    once HiGHS holds it.  Dantzig pricing: a basis that certifies takes no iteration, and the dual
    steepest-edge weights HiGHS would otherwise set up first cost about 1 s CPU at 1,000,000 parcels."""
    h, warm = _run([whole_lp(dec)], _options(options, clock, solver="simplex", presolve="off",
                                             simplex_iteration_limit=CHECK_ITERATION_LIMIT,
                                             simplex_dual_edge_weight_strategy=0,
                                             user_objective_scale=dec.scale_exponent), master.full_basis())
    info, status = h.getInfo(), h.getModelStatus()
    feasible = 2  # kSolutionStatusFeasible
    optimal = (status == highspy.HighsModelStatus.kOptimal and info.primal_solution_status == feasible
               and info.dual_solution_status == feasible)
    return _Check(status, h.modelStatusToString(status), f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
                  warm, int(info.simplex_iteration_count), optimal, float(info.objective_function_value),
                  h.getSolution() if optimal and warm else None)


def solve_structured(arrays: LpArrays | list[LpArrays], n_parcels: int, n_pairs: int, options: dict[str, Any], *,
                     dual_estimate: np.ndarray | None = None, max_rounds: int = 30,
                     sample_fraction: float | None = None) -> StructuredResult:
    """Solve a share-mode LP by column generation over its parcels, certified on the whole LP.

    Parameters
    ----------
    arrays : LpArrays — the LP (:func:`~dualuse.solve.highs.compile_model`): rows ``0 … n_parcels − 1``
        the allocation rows, columns ``0 … n_pairs − 1`` the pairs grouped by parcel.  Or a list
        holding it alone, which is emptied once the LP is decomposed, so that the caller's copy can be
        freed (gigabytes at a million parcels); should the result hold no solution, its ``whole_lp``
        is then the LP again
    n_parcels, n_pairs : int — parcels and pair columns
    options : dict — HiGHS options (``highs_options``); the solver choice, presolve and crossover
        are this method's own, ``time_limit`` bounds the whole solve, ``user_objective_scale``
        (default :func:`~dualuse.solve.highs.objective_scale`) sets the internal units
    dual_estimate : ndarray, optional — duals of the coupling rows (``row_dual[n_parcels:]``) of a
        solved neighbouring LP, e.g. the previous scenario of a sweep; replaces the sample
    max_rounds : int — masters solved before giving up
    sample_fraction : float, optional — share of parcels in the dual-estimate sample (default
        :func:`sample_size`)

    Returns
    -------
    StructuredResult — never a solution that HiGHS has not accepted as optimal for the whole LP
    """
    clock = _Clock(float(options.get("time_limit", math.inf)))
    clock.begin("setup")
    holder = arrays if isinstance(arrays, list) else None
    lp = holder.pop() if holder is not None else arrays
    dec = decompose(lp, n_parcels, n_pairs, options.get("user_objective_scale"))
    clock.end()
    if isinstance(dec, str):
        return _finish(StructuredResult(StructuredStatus.NOT_CERTIFIED, f"not the share-mode shape: {dec}",
                                        whole_lp=lp if holder is not None else None), clock)
    del lp, arrays
    clock.begin("estimate")
    if dual_estimate is not None:
        y0 = dec.to_internal(np.asarray(dual_estimate, dtype=float).reshape(dec.n_coupling))
    else:
        y0 = _estimate_duals(dec, options, clock, sample_fraction, int(options.get("random_seed", 0)))
    master = _start_master(dec, y0)
    clock.end()
    log: list[dict[str, Any]] = []
    generation = _column_generation(master, options, max_rounds, clock, log)
    result = StructuredResult(StructuredStatus.NOT_CERTIFIED, generation.reason, rounds=generation.rounds, log=log,
                              coupling_dual=dec.to_highs(y0 if generation.y is None else generation.y))
    if generation.converged:
        clock.begin("check")
        _read_check(result, _check_full_lp(dec, master, options, clock), dec, generation, n_parcels)
        clock.end()
    if holder is not None and not result.status.has_solution:
        result.whole_lp = whole_lp(dec)
    return _finish(result, clock)


def _read_check(result: StructuredResult, check: _Check, dec: Decomposition, generation: _Generation,
                n_parcels: int) -> None:
    """The whole-LP check's outcome: status, solution, duals and the certificate's figures."""
    cert = result.certificate
    layout = generation.layout
    cert.check_iterations = check.iterations
    cert.max_reduced_cost = generation.max_excess / abs(dec.factor)
    cert.elastic_in_use = 0
    cert.unfixed_parcels, cert.master_columns = layout.n_rows, layout.n_pairs
    result.model_status, result.highs_version = check.status_text, check.version
    if check.solution is None:
        result.reason = (f"HiGHS ended the whole-LP check '{check.status_text}' after {cert.check_iterations} "
                         "iterations" + ("" if check.warm else " (the basis was refused)"))
        return
    solution = check.solution
    check.solution = None
    result.objective = check.objective
    result.col_value = np.asarray(solution.col_value, dtype=float)
    result.row_dual = np.asarray(solution.row_dual, dtype=float)
    result.col_dual = np.asarray(solution.col_dual, dtype=float)
    del solution
    result.coupling_dual = result.row_dual[n_parcels:].copy()
    internal_bound = lagrangian_bound(dec, dec.to_internal(result.coupling_dual))
    internal_objective = (result.objective - dec.offset) * dec.factor
    cert.lagrangian_bound = dec.to_objective(internal_bound)
    cert.gap = abs(cert.lagrangian_bound - result.objective)
    cert.relative_gap = abs(internal_bound - internal_objective) / max(1.0, abs(internal_objective))
    result.status = StructuredStatus.FULL_LP_OPTIMAL
    if cert.check_iterations:
        result.reason = f"HiGHS re-optimised the whole LP from the extended basis in {cert.check_iterations} iterations"
    elif not cert.relative_gap <= GAP_TOLERANCE:
        result.reason = f"the Lagrangian bound is {cert.relative_gap:.2e} (relative) from the objective"
    else:
        result.status = StructuredStatus.CERTIFIED


def _finish(result: StructuredResult, clock: _Clock) -> StructuredResult:
    result.timings = clock.totals()
    return result
