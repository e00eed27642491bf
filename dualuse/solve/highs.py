"""HiGHS through Pyomo: options, statuses, duals, infeasibility diagnosis.

The hand-over (chosen by measurement, ``benchmarks/RESULTS.md``): the model
that :func:`~dualuse.model.build.build_model` makes keeps its constraint families
as the numpy arrays they were built from, and :func:`compile_model` passes
those arrays to HiGHS in one ``passModel`` call once it has checked that the
model still holds every family as built; whatever a user added goes through
Pyomo's ``LinearStandardFormCompiler``, and a model changed in any other way
goes through it whole.  At 100,000 parcels the hand-over takes 0.4 s this
way, 3.7 s through the compiler and about 25 s through Pyomo's appsi HiGHS
interface, which translates expression by expression; the tests check that
the paths give the same matrix and the same plans.  Solution values and row
duals are mapped back to the model's pairs and named constraints.

HiGHS options for an LP (chosen by measurement, ``benchmarks/bench_options.py``):
interior point with crossover — at 100,000 parcels dual simplex took
95 s of CPU, IPM with crossover 33 s; crossover gives a vertex plan (few
parcels split between uses) and exact row duals, the shadow prices of
budget, LDN and food floor, while IPM alone ends with status Unknown.  A
crossover start tolerance of 1e-4 costs nothing and saves crossover work
on some regions.  The objective is scaled by a power of two
(:func:`objective_scale`): its coefficients are tiny beside the matrix,
which left IPM imprecise and the simplex clean-up after crossover long
(15,000 iterations); scaled, the same LP took 15 s instead of 33 s, with
the same optimum and duals.  Presolve stays on: without it the solve was
faster at 100,000 parcels but more than twice as long at 1,000,000.  MILPs
use HiGHS's branch and cut with ``mip_rel_gap`` from the scenario.
"""

from __future__ import annotations

import enum
import gc
import math
import operator
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.gc_manager import PauseGC
from pyomo.core.base.set import RangeSet
from pyomo.core.base.component import ActiveComponent
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler, RowEntry

from dualuse.model.coefficients import Coefficients
from dualuse.errors import DualuseError, InfeasibleError, TimeLimitError, UnboundedError
from dualuse.model.build import Family, MatrixForm, build_model
from dualuse.inputs.scenario import Scenario

INF = highspy.kHighsInf


class Status(enum.Enum):
    """The outcome of a solve."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # time limit reached with a plan: may not be optimal
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"  # time limit reached with no plan
    ERROR = "error"

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass
class SolveResult:
    """What HiGHS returned, mapped back to the model."""

    status: Status
    objective: float = math.nan
    gap: float = math.nan
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    served_mwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    export_mwh: float = 0.0
    duals: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    message: str = ""


@dataclass(eq=False)
class LpArrays:
    """An LP as the numpy arrays HiGHS takes: costs, bounds, and the constraint matrix in
    compressed form (``rowwise`` or column-wise) with int32 indices."""

    sense: int  # pyo.maximize or pyo.minimize
    offset: float
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    integral: np.ndarray
    rowwise: bool = True

    @property
    def num_col(self) -> int:
        return int(self.col_cost.size)

    @property
    def num_row(self) -> int:
        return int(self.row_lower.size)

    @property
    def num_nz(self) -> int:
        return int(self.value.size)

    def pass_to(self, h: highspy.Highs) -> None:
        """Hand the arrays to HiGHS in one call (no ``HighsLp`` on the way: its fields convert
        element by element, seconds at a million parcels)."""
        fmt = highspy.MatrixFormat.kRowwise if self.rowwise else highspy.MatrixFormat.kColwise
        sense = highspy.ObjSense.kMaximize if self.sense == pyo.maximize else highspy.ObjSense.kMinimize
        integrality = self.integral.astype(np.int32)  # kContinuous 0, kInteger 1; HiGHS reads it whole
        status = h.passModel(self.num_col, self.num_row, self.num_nz, int(fmt), int(sense), float(self.offset),
                             self.col_cost, self.col_lower, self.col_upper, self.row_lower, self.row_upper,
                             self.start[:-1], self.index, self.value, integrality)
        if status == highspy.HighsStatus.kError:
            raise DualuseError("internal error: HiGHS refused the model")

    def to_highs_lp(self) -> highspy.HighsLp:
        lp = highspy.HighsLp()
        lp.num_col_ = self.num_col
        lp.num_row_ = self.num_row
        lp.sense_ = highspy.ObjSense.kMaximize if self.sense == pyo.maximize else highspy.ObjSense.kMinimize
        lp.offset_ = float(self.offset)
        lp.col_cost_ = self.col_cost
        lp.col_lower_ = self.col_lower
        lp.col_upper_ = self.col_upper
        lp.row_lower_ = self.row_lower
        lp.row_upper_ = self.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise if self.rowwise else highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self.start
        lp.a_matrix_.index_ = self.index
        lp.a_matrix_.value_ = self.value
        lp.a_matrix_.num_col_ = self.num_col
        lp.a_matrix_.num_row_ = self.num_row
        if self.integral.any():
            lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                               for i in self.integral.tolist()]
        return lp


@dataclass(eq=False)
class CompiledModel:
    """A Pyomo model as HiGHS's sparse LP, and the maps back.

    ``arrays`` is the LP (``lp`` the same as a ``highspy.HighsLp``, made on
    first use); ``columns`` and ``rows`` give each LP column's variable and
    each row's ``RowEntry(constraint, bound_type)``; ``own_columns`` are the
    model's own variables (``x``, ``served``, ``export``, …) in their order,
    and ``own_position`` each one's LP column (None: the LP starts with them,
    in that order; −1: fixed, so not a column).
    """

    arrays: LpArrays | None
    columns: list[Any]
    rows: Sequence[Any]
    n_pairs: int
    n_parcels: int
    is_mip: bool
    own_columns: list[Any] = field(default_factory=list)
    own_position: np.ndarray | None = None
    interface: str = ""
    pass_s: float = 0.0
    row_names: list[tuple[str, Any]] | None = None  # after detach: (family, index or None) of the rows after the parcels
    _lp: highspy.HighsLp | None = None

    @property
    def lp(self) -> highspy.HighsLp:
        """The LP as a ``highspy.HighsLp`` (changes to it are what :func:`run_highs` passes)."""
        if self._lp is None:
            if self.arrays is None:
                raise DualuseError("internal error: the compiled LP was released after it was passed to HiGHS")
            self._lp = self.arrays.to_highs_lp()
        return self._lp

    def detach(self, first_other: int) -> bool:
        """Drop the references to the model's own variables before ``first_other`` and to the parcel
        rows, keeping what the read-back needs, so that the model can be freed while HiGHS solves.

        Only when the LP starts with the model's own columns (the matrix-form
        path); returns whether it did.
        """
        if self.own_position is not None:
            return False
        n_own = len(self.own_columns)
        self.own_columns = [None] * first_other + self.own_columns[first_other:]
        self.columns = self.own_columns + self.columns[n_own:]
        self.row_names = [_row_name(self.rows[r].constraint) for r in range(self.n_parcels, len(self.rows))]
        self.rows = RowList([None] * len(self.rows), np.zeros(len(self.rows), dtype=np.int8))
        return True

    def own_values(self, col_value: np.ndarray) -> np.ndarray:
        """The solution values of the model's own variables, in their order."""
        if self.own_position is None:
            return col_value[:len(self.own_columns)]
        position = self.own_position
        values = col_value[np.maximum(position, 0)]
        for k in np.flatnonzero(position < 0).tolist():
            values[k] = float(self.own_columns[k].value)
        return values


def highs_options(scenario: Scenario, is_mip: bool, time_limit_s: float | None = None) -> dict[str, Any]:
    """HiGHS options for one solve (see the module docstring for why)."""
    options: dict[str, Any] = {
        "output_flag": False,
        "threads": scenario.threads,
        "random_seed": scenario.seed,
        "time_limit": float(time_limit_s if time_limit_s is not None else scenario.time_limit_s) or INF,
    }
    if is_mip:
        options["mip_rel_gap"] = scenario.mip_gap
    else:
        options["solver"] = "ipm"
        options["run_crossover"] = "on"
        options["start_crossover_tolerance"] = 1e-4
    return options


def objective_scale(cost: np.ndarray) -> int:
    """HiGHS's ``user_objective_scale`` for an LP: the power of two that brings its largest cost to [1, 2).

    The objective is a sum of unit-free KPIs over whole-region totals, so its
    coefficients are tiny (1e-8 to 1e-4 per pair at 100,000 parcels) beside
    the matrix and the bounds; interior point then needs many more
    iterations, its crossover stops imprecise and the simplex clean-up after
    it runs long.  HiGHS multiplies the costs by 2^k and reports the
    objective and the duals unscaled; primal feasibility is unaffected.
    """
    largest = float(np.max(np.abs(cost))) if len(cost) else 0.0
    if not math.isfinite(largest) or largest <= 0.0:
        return 0
    return -math.floor(math.log2(largest))


def compile_model(m: pyo.ConcreteModel, n_pairs: int, n_parcels: int) -> CompiledModel:
    """The model as HiGHS's sparse LP.

    A model made by :func:`~dualuse.model.build.build_model` carries its own
    constraint families as the arrays they were built from
    (``m.matrix_form``).  When the model still holds every one of them as
    built — the same components, the same expression object in every row
    and in every named total — those arrays are the matrix, and only what a
    user added (constraints, variables, another objective) goes through
    Pyomo's ``LinearStandardFormCompiler``.  Variable bounds, domains and
    fixings are always read from the Pyomo variables (a fixed variable is a
    column with equal bounds), and rows or families a user deactivated are
    left out, as the compiler would.  Any other change to a built family (a
    row or a named total given a new expression, a variable component
    replaced) sends the whole model through the compiler
    (:func:`compile_standard_form`).  ``tests/test_fastpath.py`` checks that
    both give the same matrix, bounds and costs, and the same plans.

    Columns start with the model's own variables (``x`` first, so column
    ``j < n_pairs`` is pair ``j``; then ``served``, ``export``); rows start
    with ``allocation``, so row ``i < n_parcels`` is parcel ``i``.
    """
    form = getattr(m, "matrix_form", None)
    with PauseGC():  # no garbage is made here, only arrays and lists over live objects
        if isinstance(form, MatrixForm):
            compiled = _compile_from_arrays(m, form, n_pairs, n_parcels)
            if compiled is not None:
                return compiled
        return compile_standard_form(m, n_pairs, n_parcels)


_EXPR = operator.attrgetter("expr")
_ACTIVE = operator.attrgetter("active")
_FIXED = operator.attrgetter("fixed")
_DOMAIN = operator.attrgetter("domain")
_LB = operator.attrgetter("lb")
_UB = operator.attrgetter("ub")


class RowList(Sequence):
    """The rows of a compiled model as ``RowEntry(constraint, bound_type)``, made on demand.

    ``bound_type`` is 1 for a row with only an upper bound, −1 for only a
    lower bound, 0 for an equality or a range (as the standard-form
    compiler's ``mixed_form``).
    """

    def __init__(self, constraints: list[Any], bound_type: np.ndarray) -> None:
        self._constraints = constraints
        self._bound_type = bound_type

    def __len__(self) -> int:
        return len(self._constraints)

    def __getitem__(self, r: Any) -> Any:
        if isinstance(r, slice):
            return [self[k] for k in range(*r.indices(len(self)))]
        return RowEntry(self._constraints[r], int(self._bound_type[r]))


def _own_columns(m: pyo.ConcreteModel) -> list[Any]:
    form = getattr(m, "matrix_form", None)
    if isinstance(form, MatrixForm):
        return form.columns
    return [*m.x.values(), *m.served.values(), m.export]


def _column_bounds(columns: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper bounds (a fixed variable's value for both) and integrality of each column."""
    n = len(columns)
    lower = np.fromiter((-INF if b is None else b for b in map(_LB, columns)), dtype=float, count=n)
    upper = np.fromiter((INF if b is None else b for b in map(_UB, columns)), dtype=float, count=n)
    fixed = np.flatnonzero(np.fromiter(map(_FIXED, columns), dtype=bool, count=n))
    if fixed.size:
        values = np.array([columns[k].value for k in fixed.tolist()], dtype=float)
        lower[fixed] = values
        upper[fixed] = values
    domain_id = np.fromiter(map(id, map(_DOMAIN, columns)), dtype=np.uint64, count=n)
    distinct, first = np.unique(domain_id, return_index=True)
    integral_domain = np.array([columns[k].is_integer() for k in first.tolist()], dtype=bool)
    integral = integral_domain[np.searchsorted(distinct, domain_id)]
    return lower, upper, integral


def _compile_from_arrays(m: pyo.ConcreteModel, form: MatrixForm, n_pairs: int,
                         n_parcels: int) -> CompiledModel | None:
    """The LP from the arrays the model was built from, plus what a user added; None when the model's
    own families are no longer as built."""
    for name, component, _, size in form.variables:
        if m.component(name) is not component or len(component) != size:
            return None
    if form.variables[0][3] != n_pairs or form.families[0].name != "allocation":
        return None
    for name, component, expression in form.totals:
        if m.component(name) is not component or component.expr is not expression:
            return None
    columns = form.columns
    n_own = len(columns)
    lower, upper, integral = _column_bounds(columns)

    # the model's own families: present, unchanged, and which of their rows are active
    families: list[tuple[Family, np.ndarray]] = []
    for family in form.families:
        component = family.component
        if m.component(family.name) is not component or not component.active:
            if family.name == "allocation":
                return None
            continue
        if len(component) != len(family.data):
            return None
        if not all(map(operator.is_, map(_EXPR, family.data), family.expressions)):
            return None
        if component.is_indexed() and not all(map(operator.is_, component.values(), family.data)):
            return None
        active = np.fromiter(map(_ACTIVE, family.data), dtype=bool, count=len(family.data))
        if family.name == "allocation" and not active.all():
            return None
        families.append((family, active))
    own_objective = form.objective is not None and _objective_as_built(m, form.objective)

    # the rows and the cost vector from the arrays
    indptr_parts, column_parts, value_parts, lower_parts, upper_parts, constraints = [], [], [], [], [], []
    for family, active in families:
        rows = family.rows
        keep = np.flatnonzero(active)
        counts = np.diff(rows.indptr)[keep]
        empty = counts == 0
        if empty.any():  # a row with no variables: drop it if it holds, else the model is infeasible
            violated = empty & ((rows.lower[keep] > 0) | (rows.upper[keep] < 0))
            if violated.any():
                bad = family.data[int(keep[np.flatnonzero(violated)[0]])]
                raise InfeasibleConstraintException(f"model contains a trivially infeasible constraint, '{bad.name}'")
            keep, counts = keep[~empty], counts[~empty]
        if keep.size == rows.n_rows:
            column_parts.append(rows.column)
            value_parts.append(rows.value)
            constraints.extend(family.data)
        else:
            entries = _row_entries(rows.indptr, keep)
            column_parts.append(rows.column[entries])
            value_parts.append(rows.value[entries])
            constraints.extend(family.data[k] for k in keep.tolist())
        indptr_parts.append(counts)
        lower_parts.append(rows.lower[keep])
        upper_parts.append(rows.upper[keep])
    cost = np.zeros(n_own)
    sense = pyo.maximize
    if own_objective:
        _, _, sense, objective_rows = form.objective
        np.add.at(cost, objective_rows.column, objective_rows.value)

    # whatever a user added, through Pyomo's compiler
    own_components = [family.component for family, _ in families]
    if own_objective:
        own_components.append(form.objective[0])
    own_ids = {id(c) for c in own_components}
    added = [c for c in m.component_objects(pyo.Constraint, active=True, descend_into=True) if id(c) not in own_ids]
    objectives = [o for o in m.component_data_objects(pyo.Objective, active=True, descend_into=True)
                  if id(o) not in own_ids]
    if len(objectives) + own_objective > 1:
        raise DualuseError(f"the model has {len(objectives) + own_objective} active objectives; "
                           "deactivate all but one")
    extra_columns: list[Any] = []
    offset = 0.0
    if added or objectives:
        repn = _compile_without(m, own_components)
        position = _column_positions(repn.columns, form, extra_columns)
        if objectives:
            sense = objectives[0].sense
            c = repn.c.tocsr()
            cost = np.concatenate([cost, np.zeros(len(extra_columns))])
            np.add.at(cost, position[c.indices], c.data)
            offset = float(repn.c_offset[0]) if len(repn.c_offset) else 0.0
        A = repn.A.tocsr()
        if A.shape[0]:
            indptr_parts.append(np.diff(A.indptr))
            column_parts.append(position[A.indices])
            value_parts.append(A.data)
            bound_type = np.fromiter((r.bound_type for r in repn.rows), dtype=np.int8, count=len(repn.rows))
            rhs = np.asarray(repn.rhs, dtype=float)
            lower_parts.append(np.where(bound_type <= 0, rhs, -INF))
            upper_parts.append(np.where(bound_type >= 0, rhs, INF))
            constraints.extend(r.constraint for r in repn.rows)
        if extra_columns:
            x_lower, x_upper, x_integral = _column_bounds(extra_columns)
            lower = np.concatenate([lower, x_lower])
            upper = np.concatenate([upper, x_upper])
            integral = np.concatenate([integral, x_integral])
    cost = np.concatenate([cost, np.zeros(n_own + len(extra_columns) - cost.size)])

    row_lower = np.concatenate(lower_parts)
    row_upper = np.concatenate(upper_parts)
    indptr = np.zeros(row_lower.size + 1, dtype=np.int64)
    np.cumsum(np.concatenate(indptr_parts), out=indptr[1:])
    arrays = LpArrays(sense, offset, cost, lower, upper, row_lower, row_upper, indptr.astype(np.int32),
                      np.concatenate(column_parts).astype(np.int32, copy=False),
                      np.concatenate(value_parts).astype(float, copy=False), integral)
    bound_type = np.where(row_lower == row_upper, 0, np.where(row_lower == -INF, 1, np.where(row_upper == INF, -1, 0)))
    return CompiledModel(arrays=arrays, columns=columns + extra_columns if extra_columns else columns,
                         rows=RowList(constraints, bound_type.astype(np.int8)), n_pairs=n_pairs,
                         n_parcels=n_parcels, is_mip=bool(integral.any()), own_columns=columns,
                         interface="matrix form of the built model -> highspy.passModel"
                                   + (" (additions through pyomo LinearStandardFormCompiler)"
                                      if added or objectives else ""))


def _objective_as_built(m: pyo.ConcreteModel, objective: tuple[Any, Any, int, Any]) -> bool:
    component, expression, sense, _ = objective
    return (m.component(component.local_name) is component and component.active
            and component.expr is expression and component.sense == sense)


def _row_entries(indptr: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Positions of the entries of rows ``keep`` in a CSR layout, in row order."""
    starts, ends = indptr[keep], indptr[keep + 1]
    counts = ends - starts
    return np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())


def _compile_without(m: pyo.ConcreteModel, own: list[Any]) -> Any:
    """Pyomo's standard form of everything in ``m`` but the components ``own`` (set aside meanwhile)."""
    for component in own:
        ActiveComponent.deactivate(component)  # the component alone, not its rows' own flags
    try:
        return LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    finally:
        for component in own:
            ActiveComponent.activate(component)


def _column_positions(compiled_columns: list[Any], form: MatrixForm, extra: list[Any]) -> np.ndarray:
    """Each compiled column's position among the model's own columns; new ones are appended to ``extra``."""
    own = {id(component): (first, component) for _, component, first, _ in form.variables}
    lookup: dict[int, dict[int, int]] = {}
    dense: dict[int, bool] = {}
    position = np.empty(len(compiled_columns), dtype=np.int64)
    n_own = len(form.columns)
    for k, var in enumerate(compiled_columns):
        parent = var.parent_component()
        found = own.get(id(parent))
        if found is None:
            position[k] = n_own + len(extra)
            extra.append(var)
            continue
        first, component = found
        if not component.is_indexed():
            position[k] = first
            continue
        contiguous = dense.get(id(component))
        if contiguous is None:  # once per component: RangeSet.last() walks the whole range
            index_set = component.index_set()
            contiguous = dense[id(component)] = bool(
                isinstance(index_set, RangeSet) and len(index_set) and index_set.first() == 0
                and index_set.last() == len(index_set) - 1)
        if contiguous:
            position[k] = first + var.index()
            continue
        if id(component) not in lookup:
            lookup[id(component)] = {id(v): first + i for i, v in enumerate(component.values())}
        position[k] = lookup[id(component)][id(var)]
    return position


def compile_standard_form(m: pyo.ConcreteModel, n_pairs: int, n_parcels: int) -> CompiledModel:
    """The whole model through Pyomo's ``LinearStandardFormCompiler`` (the general path).

    Columns come in the order the compiler meets the variables (``x`` first,
    as ``allocation`` is the first row); a fixed variable is not a column
    (the compiler moves it into the bounds), and the read-back finds each of
    the model's own variables by identity.
    """
    own = _own_columns(m)
    con_order = [m.allocation] + [c for c in m.component_objects(pyo.Constraint, active=True, descend_into=True)
                                  if c is not m.allocation]
    # no column_order: with it, pyomo 6.10.1 mis-compiles a model with a fixed variable (the fixed
    # variable's terms land in a duplicate column and its value stays out of the bounds)
    repn = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None, row_order=con_order)
    columns, rows = repn.columns, repn.rows
    objectives = list(repn.objectives)
    if len(objectives) > 1:
        raise DualuseError(f"the model has {len(objectives)} active objectives; deactivate all but one")
    sense = objectives[0].sense if objectives else pyo.minimize
    cost = np.asarray(repn.c.toarray()[0], dtype=float) if repn.c.shape[0] else np.zeros(len(columns))
    offset = float(repn.c_offset[0]) if len(repn.c_offset) else 0.0
    lower, upper, integral = _column_bounds(columns)
    bound_type = np.fromiter((r.bound_type for r in rows), dtype=np.int8, count=len(rows))
    rhs = np.asarray(repn.rhs, dtype=float)
    A = repn.A.tocsr()
    arrays = LpArrays(sense, offset, cost, lower, upper, np.where(bound_type <= 0, rhs, -INF),
                      np.where(bound_type >= 0, rhs, INF), A.indptr.astype(np.int32),
                      A.indices.astype(np.int32), A.data.astype(float), integral)
    identity = len(columns) >= len(own) and all(map(operator.is_, columns, own))
    if identity:
        own_position = None
    else:
        where = {id(v): k for k, v in enumerate(columns)}
        own_position = np.array([where.get(id(v), -1) for v in own], dtype=np.int64)
    return CompiledModel(arrays=arrays, columns=columns, rows=rows, n_pairs=n_pairs, n_parcels=n_parcels,
                         is_mip=bool(integral.any()), own_columns=own, own_position=own_position,
                         interface="pyomo LinearStandardFormCompiler -> highspy.passModel")


def run_highs(compiled: CompiledModel, options: dict[str, Any], *,
              release: bool = False) -> tuple[highspy.Highs, float]:
    """Pass the LP to a fresh HiGHS and run it; returns the solver and its run time [s].

    With ``release``, the compiled LP is dropped once HiGHS holds its own
    copy, so that the two copies do not both stay in memory while it solves
    (about a third of a GB at a million parcels); ``h.getLp()`` gives it back.
    """
    h = highspy.Highs()
    for key, value in options.items():
        h.setOptionValue(key, value)
    start = time.perf_counter()
    if compiled._lp is not None or compiled.arrays is None:
        h.passModel(compiled.lp)
    else:
        compiled.arrays.pass_to(h)
    if release:
        compiled.arrays = None
        compiled._lp = None
    compiled.pass_s = time.perf_counter() - start
    start = time.perf_counter()
    h.run()
    return h, time.perf_counter() - start


def _status(h: highspy.Highs, options: dict[str, Any]) -> Status:
    status = h.getModelStatus()
    has_solution = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    S = highspy.HighsModelStatus
    if status == S.kOptimal:
        return Status.OPTIMAL
    if status in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt):
        return Status.FEASIBLE if has_solution else Status.TIME_LIMIT
    if status == S.kInfeasible:
        return Status.INFEASIBLE
    if status == S.kUnbounded:
        return Status.UNBOUNDED
    if status == S.kUnboundedOrInfeasible:
        # presolve cannot tell the two apart (an unbounded MILP reports this); ask again without it
        h2 = highspy.Highs()
        for key, value in {**options, "presolve": "off"}.items():
            h2.setOptionValue(key, value)
        h2.passModel(h.getLp())
        h2.run()
        again = h2.getModelStatus()
        return Status.UNBOUNDED if again == S.kUnbounded else Status.INFEASIBLE
    return Status.ERROR


def solve_model(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario,
                time_limit_s: float | None = None) -> SolveResult:
    """Solve a built model and map the solution back to pairs, communities and named constraints."""
    return _solve([m], coef, scenario, time_limit_s, release=False)


def _solve(holder: list[pyo.ConcreteModel], coef: Coefficients, scenario: Scenario, time_limit_s: float | None,
           release: bool) -> SolveResult:
    """Hand the model in ``holder`` to HiGHS, solve, read back.  With ``release`` the model is taken
    out of ``holder`` once HiGHS holds the LP (when the LP's read-back allows it), so that it can be
    freed while HiGHS solves; its variables then get no values."""
    t0 = time.perf_counter()
    try:
        compiled = compile_model(holder[0], coef.n_pairs, coef.n_parcels)
    except InfeasibleConstraintException as exc:  # a row with no variables that cannot hold
        return SolveResult(status=Status.INFEASIBLE, message=str(exc),
                           timings={"handover_s": time.perf_counter() - t0, "highs_s": 0.0})
    n_comm = coef.demand_mwh.size
    released = release and compiled.detach(coef.n_pairs + n_comm + 1)
    if released:
        holder.clear()
        gc.collect()
    t_compile = time.perf_counter() - t0
    options = highs_options(scenario, compiled.is_mip, time_limit_s)
    if not compiled.is_mip:
        options["user_objective_scale"] = objective_scale(compiled.arrays.col_cost)
    size = {"rows": compiled.arrays.num_row, "columns": compiled.arrays.num_col,
            "nonzeros": compiled.arrays.num_nz, "mip": int(compiled.is_mip)}
    h, t_solve = run_highs(compiled, options, release=True)
    t_compile += compiled.pass_s
    status = _status(h, options)
    info = h.getInfo()
    result = SolveResult(
        status=status,
        timings={"handover_s": t_compile, "highs_s": t_solve},
        solver={"name": "HiGHS", "version": f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
                "interface": compiled.interface,
                "options": {k: v for k, v in options.items() if k != "output_flag"},
                "model_status": h.modelStatusToString(h.getModelStatus())},
        size=size,
    )
    if not status.has_plan:
        return result
    t1 = time.perf_counter()
    solution = h.getSolution()
    col_value = np.asarray(solution.col_value, dtype=float)
    values = compiled.own_values(col_value)
    result.objective = float(info.objective_function_value)
    result.gap = float(info.mip_gap) if compiled.is_mip else 0.0
    if compiled.is_mip and not math.isfinite(result.gap):
        result.gap = math.nan
    result.x = np.clip(values[:coef.n_pairs], 0.0, 1.0)
    result.served_mwh = np.maximum(values[coef.n_pairs:coef.n_pairs + n_comm], 0.0) + 0.0  # no -0.0
    result.export_mwh = max(float(values[coef.n_pairs + n_comm]), 0.0) + 0.0
    if not released:
        _load_other_values(compiled, values, col_value, coef.n_pairs + n_comm + 1)
    if not compiled.is_mip and solution.dual_valid:
        result.duals = _named_duals(compiled, np.asarray(solution.row_dual, dtype=float))
    result.timings["readback_s"] = time.perf_counter() - t1
    return result


def _load_other_values(compiled: CompiledModel, own_values: np.ndarray, col_value: np.ndarray, first: int) -> None:
    """Load the values of every variable but ``x``, ``served`` and ``export`` (slacks, plant switches,
    a user's own variables: few) into the Pyomo model."""
    own = compiled.own_columns
    for var, value in zip(own[first:], own_values[first:].tolist()):
        var.set_value(value, skip_validation=True)
    if compiled.own_position is None:
        extra = zip(compiled.columns[len(own):], col_value[len(own):].tolist())
    else:
        own_ids = {id(v) for v in own}
        extra = ((v, value) for v, value in zip(compiled.columns, col_value.tolist()) if id(v) not in own_ids)
    for var, value in extra:
        var.set_value(value, skip_validation=True)


def _named_duals(compiled: CompiledModel, row_dual: np.ndarray) -> dict[str, Any]:
    """Duals of the aggregate rows, keyed by constraint name (indexed ones as name -> {index: dual}).

    The sign is the change of the objective per unit the constraint is
    relaxed (HiGHS's row dual is ∂objective/∂row bound for either sense).
    """
    out: dict[str, Any] = {}
    names = compiled.row_names
    if names is None:
        names = [_row_name(compiled.rows[r].constraint) for r in range(compiled.n_parcels, len(compiled.rows))]
    for (name, index), dual in zip(names, row_dual[compiled.n_parcels:].tolist()):
        if index is None:
            out[name] = dual
        else:
            out.setdefault(name, {})[index] = dual
    return out


def _row_name(con: Any) -> tuple[str, Any]:
    """A row's constraint as (component name, index), the index None for a scalar constraint."""
    component = con.parent_component()
    return component.local_name, (con.index() if component.is_indexed() else None)


def solve(coef: Coefficients, scenario: Scenario, time_limit_s: float | None = None,
          explain: bool = True, write_lp: str | None = None, *,
          keep_model: bool = True) -> tuple[pyo.ConcreteModel | None, SolveResult]:
    """Build and solve; raise a typed error when there is no plan.

    With ``keep_model=False`` the model is let go as soon as HiGHS holds the
    LP, so that its memory is free while HiGHS solves (at 1,000,000 parcels
    the Pyomo model is about 2.4 GiB of the peak: ``benchmarks/RESULTS.md``),
    and None is returned in its place; for callers that only want the plan.

    Raises
    ------
    InfeasibleError — with the relaxations that would make the scenario feasible
    TimeLimitError, UnboundedError, DualuseError
    """
    t0 = time.perf_counter()
    holder = [build_model(coef, scenario)]
    t_build = time.perf_counter() - t0
    if write_lp:
        holder[0].write(write_lp, io_options={"symbolic_solver_labels": True})
    result = _solve(holder, coef, scenario, time_limit_s, release=not keep_model)
    result.timings = {"build_s": t_build, **result.timings}
    raise_for_status(result, coef, scenario, explain, time_limit_s)
    return (holder[0] if holder else None), result


def raise_for_status(result: SolveResult, coef: Coefficients, scenario: Scenario, explain: bool = True,
                     time_limit_s: float | None = None) -> None:
    """Raise the typed error for a result without a plan (``time_limit_s``: the limit the solve ran under)."""
    if result.status.has_plan:
        return
    if result.status is Status.INFEASIBLE:
        from dualuse.diagnose.explain import explain_infeasibility, infeasibility_message  # diagnose builds on solve

        explanation = explain_infeasibility(coef, scenario, time_limit_s) if explain else []
        raise InfeasibleError(infeasibility_message(explanation), explanation)
    if result.status is Status.TIME_LIMIT:
        limit = scenario.time_limit_s if time_limit_s is None else time_limit_s
        raise TimeLimitError(f"the time limit of {limit:g} s passed before any plan was found; "
                             "raise --time-limit, or use mode=share (an LP) instead of a MILP")
    if result.status is Status.UNBOUNDED:
        raise UnboundedError("the model is unbounded: a coefficient in the catalogue or a custom constraint "
                             "leaves an objective term without limit")
    raise DualuseError(f"HiGHS stopped with status '{result.solver.get('model_status')}'")
