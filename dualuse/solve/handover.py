"""The hand-over of a Pyomo model to HiGHS: the sparse LP as numpy arrays, and the maps back to the model.

Chosen by measurement (``benchmarks/RESULTS.md``): the model that
:func:`~dualuse.model.build.build_model` makes keeps its constraint families
as the numpy arrays they were built from, and :func:`compile_model` passes
those arrays to HiGHS in one ``passModel`` call once it has checked that the
model still holds every family as built; whatever a user added goes through
Pyomo's ``LinearStandardFormCompiler``, and a model changed in any other way
goes through it whole (:class:`Handover` names the three paths).  At 100,000
parcels the hand-over takes 0.4 s this way, 3.7 s through the compiler and
about 25 s through Pyomo's appsi HiGHS interface, which translates expression
by expression; the tests check that the paths give the same matrix and the
same plans.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.gc_manager import PauseGC
from pyomo.core.base.component import ActiveComponent
from pyomo.core.base.set import RangeSet
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler, RowEntry

from dualuse.errors import DualuseError
from dualuse.model.rows import Family, MatrixForm

INF = highspy.kHighsInf


class Handover(enum.Enum):
    """The path by which a model reached HiGHS."""

    ARRAYS = "arrays"  # the built model's own arrays, as they are
    ARRAYS_AND_COMPILER = "arrays+compiler"  # the arrays, and what a user added through Pyomo's compiler
    COMPILER = "compiler"  # the whole model through Pyomo's compiler (changed otherwise, or not built here)


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


@dataclass(eq=False)
class CompiledModel:
    """A Pyomo model as HiGHS's sparse LP, and the maps back.

    ``arrays`` is the LP (``lp`` the same as a ``highspy.HighsLp``, made on
    first use); ``columns`` and ``rows`` give each LP column's variable and
    each row's ``RowEntry(constraint, bound_type)``; ``own_columns`` are the
    model's own variables (``x``, ``served``, ``export``, …) in their order,
    and ``own_position`` each one's LP column (None: the LP starts with them,
    in that order; −1: fixed, so not a column).  ``handover`` is the path taken.
    """

    arrays: LpArrays | None
    columns: list[Any]
    rows: Sequence[Any]
    n_pairs: int
    n_parcels: int
    is_mip: bool
    handover: Handover
    own_columns: list[Any] = field(default_factory=list)
    own_position: np.ndarray | None = None
    interface: str = ""
    pass_s: float = 0.0
    row_names: list[tuple[str, Any]] | None = None  # after detach: (family, index) of the rows after the parcels
    _lp: highspy.HighsLp | None = None

    @property
    def lp(self) -> highspy.HighsLp:
        """The LP as a ``highspy.HighsLp`` (changes to it are what :func:`~dualuse.solve.highs.run_highs` passes)."""
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
        self.row_names = [row_name(self.rows[r].constraint) for r in range(self.n_parcels, len(self.rows))]
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


def row_name(con: Any) -> tuple[str, Any]:
    """A row's constraint as (component name, index), the index None for a scalar constraint."""
    component = con.parent_component()
    return component.local_name, (con.index() if component.is_indexed() else None)


def lp_names(compiled: CompiledModel) -> tuple[list[str], list[str]]:
    """Column and row names for an LP file, as Pyomo's LP writer spells them: ``x(0)``, and for rows
    ``c_e_``, ``c_l_``, ``c_u_`` or ``r_`` (=, ≥, ≤, ranged) before the name and ``_`` after it."""
    def label(component_data: Any) -> str:
        return component_data.getname(fully_qualified=True).replace("[", "(").replace("]", ")").replace(
            ",", "_").replace(" ", "_").replace("'", "")

    arrays = compiled.arrays
    prefix = np.where(arrays.row_lower == arrays.row_upper, "c_e_",
                      np.where(arrays.row_lower == -INF, "c_u_", np.where(arrays.row_upper == INF, "c_l_", "r_")))
    rows = [f"{p}{label(compiled.rows[r].constraint)}_" for r, p in enumerate(prefix.tolist())]
    return [label(v) for v in compiled.columns], rows


# --------------------------------------------------------------------------- the paths


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
            families = _families_as_built(m, form, n_pairs)
            if families is not None:
                return _compile_from_arrays(m, form, families, n_pairs, n_parcels)
        return compile_standard_form(m, n_pairs, n_parcels)


_EXPR = operator.attrgetter("expr")
_ACTIVE = operator.attrgetter("active")
_FIXED = operator.attrgetter("fixed")
_DOMAIN = operator.attrgetter("domain")
_LB = operator.attrgetter("lb")
_UB = operator.attrgetter("ub")


def _families_as_built(m: pyo.ConcreteModel, form: MatrixForm,
                       n_pairs: int) -> list[tuple[Family, np.ndarray]] | None:
    """The model's own families still as built, each with which of its rows are active; None when the
    model's variables, named totals or a family's rows are no longer as built."""
    for name, component, _, size in form.variables:
        if m.component(name) is not component or len(component) != size:
            return None
    if form.variables[0][3] != n_pairs or form.families[0].name != "allocation":
        return None
    for name, component, expression, _ in form.totals:
        if m.component(name) is not component or component.expr is not expression:
            return None
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
    return families


@dataclass(eq=False)
class _Parts:
    """The LP's rows as they are gathered, family by family."""

    counts: list[np.ndarray] = field(default_factory=list)
    columns: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)
    constraints: list[Any] = field(default_factory=list)

    def add_family(self, family: Family, active: np.ndarray) -> None:
        """The family's active rows; a row with no variables is dropped if it holds, else the model is infeasible."""
        rows = family.rows
        keep = np.flatnonzero(active)
        counts = np.diff(rows.indptr)[keep]
        empty = counts == 0
        if empty.any():
            violated = empty & ((rows.lower[keep] > 0) | (rows.upper[keep] < 0))
            if violated.any():
                bad = family.data[int(keep[np.flatnonzero(violated)[0]])]
                raise InfeasibleConstraintException(f"model contains a trivially infeasible constraint, '{bad.name}'")
            keep, counts = keep[~empty], counts[~empty]
        if keep.size == rows.n_rows:
            self.columns.append(rows.column)
            self.values.append(rows.value)
            self.constraints.extend(family.data)
        else:
            entries = _row_entries(rows.indptr, keep)
            self.columns.append(rows.column[entries])
            self.values.append(rows.value[entries])
            self.constraints.extend(family.data[k] for k in keep.tolist())
        self.counts.append(counts)
        self.lower.append(rows.lower[keep])
        self.upper.append(rows.upper[keep])

    def add_compiled(self, repn: Any, position: np.ndarray) -> None:
        """The rows of a standard-form compilation, its columns mapped by ``position``."""
        A = repn.A.tocsr()
        if not A.shape[0]:
            return
        self.counts.append(np.diff(A.indptr))
        self.columns.append(position[A.indices])
        self.values.append(A.data)
        bound_type = np.fromiter((r.bound_type for r in repn.rows), dtype=np.int8, count=len(repn.rows))
        rhs = np.asarray(repn.rhs, dtype=float)
        self.lower.append(np.where(bound_type <= 0, rhs, -INF))
        self.upper.append(np.where(bound_type >= 0, rhs, INF))
        self.constraints.extend(r.constraint for r in repn.rows)


def _compile_from_arrays(m: pyo.ConcreteModel, form: MatrixForm, families: list[tuple[Family, np.ndarray]],
                         n_pairs: int, n_parcels: int) -> CompiledModel:
    """The LP from the arrays the model was built from, plus what a user added (through the compiler)."""
    columns = form.columns
    n_own = len(columns)
    lower, upper, integral = _column_bounds(columns)
    parts = _Parts()
    for family, active in families:
        parts.add_family(family, active)
    own_objective = form.objective is not None and _objective_as_built(m, form.objective)
    cost = np.zeros(n_own)
    sense = pyo.maximize
    if own_objective:
        _, _, sense, objective_rows = form.objective
        np.add.at(cost, objective_rows.column, objective_rows.value)

    own_components = [family.component for family, _ in families] + ([form.objective[0]] if own_objective else [])
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
        parts.add_compiled(repn, position)
        if extra_columns:
            x_lower, x_upper, x_integral = _column_bounds(extra_columns)
            lower, upper = np.concatenate([lower, x_lower]), np.concatenate([upper, x_upper])
            integral = np.concatenate([integral, x_integral])
    cost = np.concatenate([cost, np.zeros(n_own + len(extra_columns) - cost.size)])

    row_lower, row_upper = np.concatenate(parts.lower), np.concatenate(parts.upper)
    indptr = np.zeros(row_lower.size + 1, dtype=np.int64)
    np.cumsum(np.concatenate(parts.counts), out=indptr[1:])
    arrays = LpArrays(sense, offset, cost, lower, upper, row_lower, row_upper, indptr.astype(np.int32),
                      np.concatenate(parts.columns).astype(np.int32, copy=False),
                      np.concatenate(parts.values).astype(float, copy=False), integral)
    bound_type = np.where(row_lower == row_upper, 0, np.where(row_lower == -INF, 1, np.where(row_upper == INF, -1, 0)))
    handover = Handover.ARRAYS_AND_COMPILER if added or objectives else Handover.ARRAYS
    return CompiledModel(arrays=arrays, columns=columns + extra_columns if extra_columns else columns,
                         rows=RowList(parts.constraints, bound_type.astype(np.int8)), n_pairs=n_pairs,
                         n_parcels=n_parcels, is_mip=bool(integral.any()), handover=handover, own_columns=columns,
                         interface="matrix form of the built model -> highspy.passModel"
                                   + (" (additions through pyomo LinearStandardFormCompiler)"
                                      if handover is Handover.ARRAYS_AND_COMPILER else ""))


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
                         is_mip=bool(integral.any()), handover=Handover.COMPILER, own_columns=own,
                         own_position=own_position, interface="pyomo LinearStandardFormCompiler -> highspy.passModel")


# --------------------------------------------------------------------------- pieces


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
