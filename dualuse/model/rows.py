r"""Rows in matrix form, and the Pyomo components made from them.

Every constraint family, named total and objective of the model is first
stated as numpy arrays (:class:`Rows`: for each row the columns, the
coefficients and the bounds); its Pyomo component is then made from those
very arrays, one ``LinearExpression`` per row, with no indexed ``Param`` and
no expression arithmetic (chosen by measurement, ``benchmarks/RESULTS.md``).
The arrays stay on the model (``m.matrix_form``, a :class:`MatrixForm`), so
that the hand-over to HiGHS (:func:`dualuse.solve.handover.compile_model`) can
pass them as they are once it has checked that the model still holds every
family as built.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr import EqualityExpression, InequalityExpression, RangedExpression
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

INF = math.inf


@dataclass(frozen=True, eq=False)
class Rows:
    r"""Rows of one constraint family (or an objective, or a named total) in matrix form.

    Row ``r`` is :math:`l_r \le \sum_k a_k v_{c_k} \le u_r` over
    ``k in indptr[r]:indptr[r + 1]``, with ``a = value``, ``c = column``
    (positions in :attr:`MatrixForm.columns`), ``l = lower`` and ``u = upper``
    (±inf for a missing bound).  Zero coefficients are never stored.
    """

    indptr: np.ndarray
    column: np.ndarray  # int32, as HiGHS takes it
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.lower.size)

    @classmethod
    def from_entries(cls, row: np.ndarray, column: np.ndarray, value: np.ndarray,
                     lower: np.ndarray | float, upper: np.ndarray | float, n_rows: int) -> Rows:
        """Rows from (row, column, value) entries; within a row, entries keep their given order.

        Entries already in row order (the common case: pairs are grouped by
        parcel) are kept as they are; others are put in row order by a
        stable sort, of the narrowest integer type that holds the row numbers.
        """
        row = np.asarray(row, dtype=np.int64)
        column = np.asarray(column, dtype=np.int64)
        value = np.asarray(value, dtype=float)
        keep = value != 0.0
        if keep.all():
            value = value.copy()
        else:
            row, column, value = row[keep], column[keep], value[keep]
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n_rows), out=indptr[1:])
        if row.size > 1 and not bool((row[1:] >= row[:-1]).all()):
            order = stable_row_order(row, n_rows)
            column, value = column[order], value[order]
        return cls(indptr=indptr, column=column.astype(np.int32), value=value,
                   lower=np.broadcast_to(np.asarray(lower, dtype=float), (n_rows,)).copy(),
                   upper=np.broadcast_to(np.asarray(upper, dtype=float), (n_rows,)).copy())

    @classmethod
    def single(cls, column: np.ndarray, value: np.ndarray, lower: float = -INF, upper: float = INF) -> Rows:
        """One row: ``lower ≤ Σ value · columns ≤ upper``."""
        column = np.asarray(column, dtype=np.int64)
        value = np.asarray(value, dtype=float)
        keep = value != 0.0
        if keep.all():
            column, value = column.astype(np.int32), value.copy()
        else:
            column, value = column[keep].astype(np.int32), value[keep]
        return cls(indptr=np.array([0, value.size], dtype=np.int64), column=column, value=value,
                   lower=np.broadcast_to(np.asarray(lower, dtype=float), (1,)).copy(),
                   upper=np.broadcast_to(np.asarray(upper, dtype=float), (1,)).copy())

    def bounded(self, lower: np.ndarray | float, upper: np.ndarray | float) -> Rows:
        """The same entries with other bounds."""
        shape = (self.n_rows,)
        return Rows(self.indptr, self.column, self.value,
                    np.broadcast_to(np.asarray(lower, dtype=float), shape).copy(),
                    np.broadcast_to(np.asarray(upper, dtype=float), shape).copy())

    def with_column_per_row(self, first_column: int, value: float) -> Rows:
        """These rows with one more entry each, at the end of the row: ``value`` × column ``first_column + r``."""
        counts = np.diff(self.indptr)
        row = np.concatenate([np.repeat(np.arange(self.n_rows), counts), np.arange(self.n_rows)])
        column = np.concatenate([self.column.astype(np.int64), first_column + np.arange(self.n_rows)])
        values = np.concatenate([self.value, np.full(self.n_rows, value)])
        return Rows.from_entries(row, column, values, self.lower, self.upper, self.n_rows)

    def active_bound(self) -> np.ndarray:
        """Per row, the bound a plan pushes against: the upper one where there is one, else the lower."""
        return np.where(np.isfinite(self.upper), self.upper, self.lower)


@dataclass(eq=False)
class Family:
    """One constraint component of the model as built: its rows, its data objects and their expressions."""

    name: str
    component: Any
    rows: Rows
    data: list[Any]
    expressions: list[Any]


@dataclass(eq=False)
class MatrixForm:
    """The model's own variables, named totals, constraint families and objective as the arrays they were built from.

    Attributes
    ----------
    columns : list — the VarData of the model's own variables, in column order
        (``x`` first, so column ``j < n_pairs`` is pair ``j``; then ``served``,
        ``export``, and the rest in the order they were declared)
    variables : list of (name, component, first column, size)
    totals : list of (name, component, expression, Rows) — the named ``Expression`` components
    families : list of Family — the constraint families, in declaration order
        (``allocation`` first, so row ``i < n_parcels`` is parcel ``i``)
    objective : tuple (component, expression, sense, Rows) or None
    """

    columns: list[Any] = field(default_factory=list)
    variables: list[tuple[str, Any, int, int]] = field(default_factory=list)
    totals: list[tuple[str, Any, Any, Rows]] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    objective: tuple[Any, Any, int, Rows] | None = None

    def add_variable(self, name: str, component: Any) -> int:
        """Register a variable component's data as columns; its first column."""
        first = len(self.columns)
        data = list(component.values())
        self.columns.extend(data)
        self.variables.append((name, component, first, len(data)))
        return first

    def first_column(self, name: str) -> int:
        return next(first for n, _, first, _ in self.variables if n == name)

    def total_rows(self, name: str) -> Rows:
        """The single row a named total was made from."""
        return next(rows for n, _, _, rows in self.totals if n == name)


def stable_row_order(row: np.ndarray, n_rows: int) -> np.ndarray:
    """The stable order of entries by their row number (``0 ≤ row < n_rows``): ``np.argsort(row, kind="stable")``,
    sorted as 8- or 16-bit keys when the rows are that few (numpy then sorts by radix, in linear time)."""
    if n_rows <= 1 << 8:
        row = row.astype(np.uint8)
    elif n_rows <= 1 << 16:
        row = row.astype(np.uint16)
    return np.argsort(row, kind="stable")


def bodies(rows: Rows, columns: list[Any]) -> list[LinearExpression]:
    """One ``LinearExpression`` per row, made straight from the arrays: of the bare variables when the
    row's coefficients are all 1, else of monomial terms."""
    variables = [columns[k] for k in rows.column.tolist()]
    values = rows.value.tolist()
    starts = rows.indptr[:-1].tolist()
    ends = rows.indptr[1:].tolist()
    ones = np.ones(rows.n_rows, dtype=bool)
    non_unit = rows.value != 1.0
    if non_unit.any():
        ones[np.unique(np.searchsorted(rows.indptr, np.flatnonzero(non_unit), side="right") - 1)] = False
    return [LinearExpression(variables[a:b]) if unit
            else LinearExpression(list(map(MonomialTermExpression, zip(values[a:b], variables[a:b]))))
            for a, b, unit in zip(starts, ends, ones.tolist())]


def relation(lower: float, body: Any, upper: float) -> Any:
    """``lower ≤ body ≤ upper`` as the Pyomo relational expression (±inf: no bound)."""
    if lower == upper:
        return EqualityExpression((body, upper))
    if lower == -INF:
        return InequalityExpression((body, upper), False)
    if upper == INF:
        return InequalityExpression((lower, body), False)
    return RangedExpression((lower, body, upper), (False, False))


def add_rows(m: pyo.ConcreteModel, name: str, rows: Rows, doc: str, index: Any = None,
             row_bodies: list[Any] | None = None) -> None:
    """Add a constraint family made from ``rows``: scalar when ``index`` is None, else one row per
    member of ``index`` (a Pyomo set, in its order).  ``row_bodies`` (one per row, made from the same
    arrays) replace the bodies :func:`bodies` would make."""
    form: MatrixForm = m.matrix_form
    if row_bodies is None:
        row_bodies = bodies(rows, form.columns)
    expressions = [relation(lo, body, hi) for lo, body, hi in zip(rows.lower.tolist(), row_bodies,
                                                                     rows.upper.tolist())]
    if index is None:
        component = pyo.Constraint(expr=expressions[0], doc=doc)
    elif isinstance(index, pyo.RangeSet) and index.first() == 0:
        component = pyo.Constraint(index, rule=lambda m, k: expressions[k], doc=doc)
    else:
        position = {key: r for r, key in enumerate(index)}
        component = pyo.Constraint(index, rule=lambda m, k: expressions[position[k]], doc=doc)
    m.add_component(name, component)
    data = list(component.values())
    form.families.append(Family(name, component, rows, data, [d.expr for d in data]))


def add_total(m: pyo.ConcreteModel, name: str, rows: Rows, doc: str) -> None:
    """A named total (a Pyomo ``Expression``) made from the single row ``rows``."""
    form: MatrixForm = m.matrix_form
    m.add_component(name, pyo.Expression(expr=bodies(rows, form.columns)[0], doc=doc))
    component = m.component(name)
    form.totals.append((name, component, component.expr, rows))


def set_objective(m: pyo.ConcreteModel, rows: Rows, sense: int, doc: str) -> None:
    """The objective made from ``rows`` (one row; its bounds are ignored)."""
    form: MatrixForm = m.matrix_form
    m.objective = pyo.Objective(expr=bodies(rows, form.columns)[0], sense=sense, doc=doc)
    form.objective = (m.objective, m.objective.expr, sense, rows)


def add_nonnegative(m: pyo.ConcreteModel, name: str, index: Sequence[Any] | None, doc: str) -> int:
    """A non-negative variable (one per member of ``index``, or scalar), registered as columns; its first column."""
    var = (pyo.Var(index, within=pyo.NonNegativeReals, doc=doc) if index is not None
           else pyo.Var(within=pyo.NonNegativeReals, doc=doc))
    m.add_component(name, var)
    return m.matrix_form.add_variable(name, var)


def linear(coefs: Iterable[float], variables: Sequence[pyo.Var]) -> LinearExpression:
    """Σ coefs · variables as one LinearExpression (no intermediate sum expressions)."""
    values = coefs.tolist() if isinstance(coefs, np.ndarray) else [float(c) for c in coefs]
    return LinearExpression(list(map(MonomialTermExpression, zip(values, list(variables)))))
