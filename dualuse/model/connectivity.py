r"""Connected restoration: a penalty on the boundary between restored and unrestored land, and its figures.

Restoration scattered over isolated parcels restores less than the same
hectares joined up (the Global Land Outlook's thematic report on land
restoration and connectivity).  As in prioritizr's boundary penalty, each
edge :math:`e = (i, j)` of the parcels' adjacency
(:mod:`dualuse.inputs.adjacency`) with shared boundary :math:`\ell_e` [km]
costs the objective :math:`\beta \ell_e |r_i - r_j|`, with :math:`r_i` the
restoration share of parcel :math:`i` and :math:`\beta` the scenario's
``restoration_boundary_weight``.  For shares the absolute value is linearised
by one non-negative variable per edge, :math:`b_e \ge |r_i - r_j|`, written
as two rows (:func:`boundary_above` and :func:`boundary_below`), and the
objective gains :math:`-\beta \sum_e \ell_e b_e` (:func:`penalty_terms`).
Since the penalty only pushes :math:`b_e` down, :math:`b_e = |r_i - r_j|` at
an optimum, and :math:`\sum_e \ell_e b_e` is the length of the boundary
between restored and unrestored land inside the region [km]; the region's
outer edge is not counted.

:math:`\beta` is in the objective's own units per km: in ``weighted`` mode
the objective is unit-free (one unit is, for instance, all unserved demand
met at ``weight_access = 1``, or today's whole harvest at
``weight_productivity = 1``; :func:`dualuse.model.objective.add_weighted_objective`),
so :math:`\beta = 0.001` trades 1 km of boundary against 0.1 % of today's
harvest; in ``net_benefit`` mode it is USD/yr per km; under ``priorities``
every level's objective (its KPI over the KPI's normaliser) pays it.

The rows pair two parcels, which breaks the one-row-per-parcel shape of the
structured solve: the families table marks them ``breaks`` and the model
goes to the generic LP path (the run table's ``lp_path`` and
``lp_path_reason`` say so).
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo

from dualuse.inputs.adjacency import Adjacency, region_adjacency
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import Scenario
from dualuse.model.coefficients import Coefficients
from dualuse.model.families import RESTORATION, FamilyRows
from dualuse.model.rows import INF, MatrixForm, Rows, add_nonnegative, linear

#: The variable :math:`b_e` and the set of penalised edges.
BOUNDARY_VARIABLE = "restoration_boundary"
#: A parcel counts as restored, for the patches, when more than this share of it is restored.
RESTORED_SHARE = 0.5
#: Up to this many parcels, a plan without the penalty still reports its restored area's boundary and patches
#: (the adjacency computed once per process, in about 0.1 ms per parcel); above it, only plans with the penalty.
FIGURES_PARCELS = 20_000

#: The connectivity figures of a plan: name -> (unit, meaning).
CONNECTIVITY_UNITS: dict[str, tuple[str, str]] = {
    "restored_boundary_km": ("km", "boundary between restored and unrestored land inside the region: Σ over "
                             "adjacent parcels of the shared boundary times the difference of their restoration "
                             "shares"),
    "restored_patches": ("count", "patches of restoration: connected groups of adjacent parcels of which more "
                         "than half is restored"),
    "largest_patch_ha": ("ha", "restored area of the largest patch"),
    "restored_outside_patches_ha": ("ha", "restored area on parcels at most half restored: restoration spread "
                                    "thinly, which the boundary of shares does not see"),
}


def restoration_columns(coef: Coefficients) -> np.ndarray:
    """Per parcel, the column of its restoration share (−1 where restoration is not eligible)."""
    column = np.full(coef.n_parcels, -1, dtype=np.int64)
    pairs = np.flatnonzero(coef.use == RESTORATION)
    column[coef.parcel[pairs]] = pairs
    return column


def penalised_edges(coef: Coefficients, scenario: Scenario) -> np.ndarray:
    """The edges the penalty can see: those with restoration eligible on at least one side (else
    :math:`r_i = r_j = 0` and the edge costs nothing); empty without a weight or an adjacency."""
    adjacency = coef.adjacency
    if scenario.restoration_boundary_weight <= 0 or adjacency is None or not adjacency.n_edges:
        return np.zeros(0, dtype=np.int64)
    column = restoration_columns(coef)
    return np.flatnonzero((column[adjacency.a] >= 0) | (column[adjacency.b] >= 0))


def _edge_rows(m: pyo.ConcreteModel, coef: Coefficients, edges: np.ndarray, sign: float) -> Rows:
    r"""Rows :math:`b_e - \sigma (r_i - r_j) \ge 0`, one per penalised edge."""
    adjacency = coef.adjacency
    assert adjacency is not None
    column = restoration_columns(coef)
    first = m.matrix_form.first_column(BOUNDARY_VARIABLE)
    n = edges.size
    ci, cj = column[adjacency.a[edges]], column[adjacency.b[edges]]
    row = np.concatenate([np.arange(n), np.flatnonzero(ci >= 0), np.flatnonzero(cj >= 0)])
    columns = np.concatenate([first + np.arange(n), ci[ci >= 0], cj[cj >= 0]])
    values = np.concatenate([np.ones(n), np.full(int((ci >= 0).sum()), -sign), np.full(int((cj >= 0).sum()), sign)])
    return Rows.from_entries(row, columns, values, 0.0, INF, n)


def boundary_above(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""The boundary variable of an edge is at least the first parcel's restoration share less the second's.

    .. math:: b_e \ge r_i - r_j \quad \forall e = (i, j) \in E, \qquad b_e \ge 0

    Adds :math:`b_e` (``m.restoration_boundary``, indexed by ``m.BOUNDARY_EDGES``);
    absent when ``restoration_boundary_weight`` is 0.
    """
    edges = penalised_edges(coef, scenario)
    if not edges.size:
        return None
    m.BOUNDARY_EDGES = pyo.Set(initialize=edges.tolist(), ordered=True, doc="adjacent parcel pairs penalised")
    add_nonnegative(m, BOUNDARY_VARIABLE, m.BOUNDARY_EDGES,
                    "restoration share difference across a shared boundary [-]")
    return FamilyRows(_edge_rows(m, coef, edges, +1.0), "b_e ≥ r_i − r_j", m.BOUNDARY_EDGES)


def boundary_below(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> FamilyRows | None:
    r"""The boundary variable of an edge is at least the second parcel's restoration share less the first's.

    .. math:: b_e \ge r_j - r_i \quad \forall e = (i, j) \in E
    """
    if m.component(BOUNDARY_VARIABLE) is None:
        return None
    edges = np.asarray(list(m.BOUNDARY_EDGES), dtype=np.int64)
    return FamilyRows(_edge_rows(m, coef, edges, -1.0), "b_e ≥ r_j − r_i", m.BOUNDARY_EDGES)


def penalty_terms(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    r"""The boundary penalty's objective coefficients: columns of :math:`b_e` and :math:`-\beta \ell_e`
    (to be added to a maximised objective in its own units); empty when the model has no :math:`b_e`."""
    if m.component(BOUNDARY_VARIABLE) is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    form: MatrixForm = m.matrix_form
    assert coef.adjacency is not None
    edges = np.asarray(list(m.BOUNDARY_EDGES), dtype=np.int64)
    columns = form.first_column(BOUNDARY_VARIABLE) + np.arange(edges.size)
    return columns, -scenario.restoration_boundary_weight * coef.adjacency.shared_km[edges]


def penalty_expression(m: pyo.ConcreteModel, coef: Coefficients, scenario: Scenario) -> float | pyo.Expression:
    """The boundary penalty as a Pyomo expression (0 when the model has none), for objectives made by hand."""
    columns, values = penalty_terms(m, coef, scenario)
    if not columns.size:
        return 0.0
    variables = m.matrix_form.columns
    return linear(values, [variables[c] for c in columns.tolist()])


def plan_adjacency(region: Region, coef: Coefficients, restored_share: np.ndarray) -> Adjacency | None:
    """The adjacency a plan's connectivity figures use: the model's, or the region's up to
    :data:`FIGURES_PARCELS` parcels (computed, not written beside the region), else None.  A plan that
    restores nothing needs none (its figures are all 0)."""
    if coef.adjacency is not None:
        return coef.adjacency
    if not np.any(np.asarray(restored_share) > 0):
        return Adjacency(region.n_parcels, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if region.n_parcels > FIGURES_PARCELS or getattr(region.parcels, "geometry", None) is None:
        return None
    return region_adjacency(region, store=False)


def connectivity_figures(adjacency: Adjacency | None, area_ha: np.ndarray,
                         restored_share: np.ndarray) -> dict[str, float]:
    """The restored area's boundary [km], its number of patches, the largest patch's restored area [ha] and
    the restored area outside any patch [ha].

    Parameters
    ----------
    adjacency : the parcels' adjacency (None: every figure NaN)
    area_ha : per parcel [ha]
    restored_share : per parcel, the share under restoration [-]
    """
    if adjacency is None:
        return {name: math.nan for name in CONNECTIVITY_UNITS}
    r = np.asarray(restored_share, dtype=float)
    boundary_km = float(adjacency.shared_km @ np.abs(r[adjacency.a] - r[adjacency.b])) if adjacency.n_edges else 0.0
    restored = r > RESTORED_SHARE
    thin_ha = float(np.sum((np.asarray(area_ha) * r)[~restored]))
    if not restored.any():
        return {"restored_boundary_km": boundary_km, "restored_patches": 0.0, "largest_patch_ha": 0.0,
                "restored_outside_patches_ha": thin_ha}
    both = restored[adjacency.a] & restored[adjacency.b]
    n = adjacency.n_parcels
    label = component_labels(n, adjacency.a[both], adjacency.b[both])
    patch_ha = np.bincount(label[restored], weights=(np.asarray(area_ha) * r)[restored])
    return {"restored_boundary_km": boundary_km, "restored_patches": float(np.unique(label[restored]).size),
            "largest_patch_ha": float(patch_ha.max()), "restored_outside_patches_ha": thin_ha}


def component_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The connected component of each of ``n`` nodes joined by the edges (a, b): every node gets the smallest
    node of its component, found by relaxing labels along the edges until none changes (vectorised)."""
    label = np.arange(n)
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    while a.size:
        low = np.minimum(label[a], label[b])
        changed = label.copy()
        np.minimum.at(changed, a, low)
        np.minimum.at(changed, b, low)
        changed = changed[changed]  # pointer jumping: follow each label to its own label
        if np.array_equal(changed, label):
            return label
        label = changed
    return label
