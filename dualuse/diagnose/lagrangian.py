r"""The Lagrangian dual of one requirement with the allocation rows, evaluated per group at a multiplier λ.

For a requirement :math:`\sum_{j \in g} v_j x_j \ge T_g` with every parcel
wholly allocated, the dual function of group :math:`g` is

.. math:: L_g(\lambda) = \lambda T_g + \sum_{i \in g} \min_u (k_{iu} - \lambda v_{iu}), \qquad \lambda \ge 0

and :math:`T_g - \sum_{i \in g} v_{i u^*_i}` is a supergradient, with
:math:`u^*_i` the parcel's best use (of its best ones, the one giving the
most).  :func:`dual_function` returns :math:`L` and that supergradient as a
function of λ (one per group), for :func:`dualuse.diagnose.presolve.least_cost_usd`.

Its first evaluation (often the only one: a requirement met at λ = 0)
goes over every pair.  Later ones go over the pairs
that can be a parcel's best at some λ ≥ 0 only: a pair is left out when
another pair of its parcel costs no more and gives no less (and is not the
same pair again, earlier): that pair's score :math:`k - \lambda v` is then
no higher at any λ, in floating point too (the score rounds monotonically),
and it gives no less, so neither the minimum nor the value at it changes.
The figures are the same, to the last bit, in a fraction of the passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dualuse.model.per_parcel import parcel_starts

Evaluation = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def dual_function(coef: Any, value: np.ndarray, parcel_group: np.ndarray, target: np.ndarray) -> Evaluation:
    """λ (per group) -> (the dual bound :math:`L_g(\\lambda)`, its supergradient), per group.

    ``value`` is per pair, ``parcel_group`` per parcel (−1: outside every group), ``target`` per group.
    """
    n_groups = target.size
    inside = parcel_group >= 0
    group_in = parcel_group[inside]
    calls: list[Evaluation] = []  # empty before the first evaluation; then the evaluation the later ones use

    def every_pair(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts = parcel_starts(coef)
        pair_group = parcel_group[coef.parcel]
        lam_pair = np.where(pair_group >= 0, lam[np.maximum(pair_group, 0)], 0.0)
        score = coef.cost_usd - lam_pair * value
        best = np.minimum.reduceat(score, starts)
        at_best = score <= best[coef.parcel]
        value_at = np.maximum.reduceat(np.where(at_best, value, -np.inf), starts)
        bound = lam * target + np.bincount(group_in, weights=best[inside], minlength=n_groups)
        slope = target - np.bincount(group_in, weights=value_at[inside], minlength=n_groups)
        return bound, slope

    def evaluate(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not calls:  # often the only one: the requirement is met for free at λ = 0
            calls.append(every_pair)
        elif calls[0] is every_pair and inside.any():
            calls[0] = _front_pairs(coef, value, parcel_group, target)
        return calls[0](lam)

    return evaluate


def _front_pairs(coef: Any, value: np.ndarray, parcel_group: np.ndarray, target: np.ndarray) -> Evaluation:
    """The dual function over the pairs of the parcels in a group that no other pair of theirs dominates."""
    n_groups = target.size
    inside = parcel_group >= 0
    keep = np.flatnonzero(~dominated(coef.parcel, coef.use, coef.cost_usd, value, coef.n_parcels)
                          & inside[coef.parcel])
    cost, gives, lam_of = coef.cost_usd[keep], value[keep], parcel_group[coef.parcel[keep]]
    counts = np.bincount(coef.parcel[keep], minlength=coef.n_parcels)[inside]
    starts = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    parcel_of = np.repeat(np.arange(counts.size), counts)
    group_in = parcel_group[inside]

    def evaluate(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        score = cost - lam[lam_of] * gives
        best = np.minimum.reduceat(score, starts)
        at_best = score <= best[parcel_of]
        value_at = np.maximum.reduceat(np.where(at_best, gives, -np.inf), starts)
        bound = lam * target + np.bincount(group_in, weights=best, minlength=n_groups)
        slope = target - np.bincount(group_in, weights=value_at, minlength=n_groups)
        return bound, slope

    return evaluate


def dominated(parcel: np.ndarray, use: np.ndarray, cost: np.ndarray, value: np.ndarray, n_parcels: int) -> np.ndarray:
    """Per pair: does another pair of its parcel cost no more and give no less (better in one, or the same
    pair again under an earlier use)?"""
    n_uses = int(use.max()) + 1 if use.size else 0
    costs = np.full((n_uses, n_parcels), np.inf)
    gives = np.full((n_uses, n_parcels), -np.inf)
    present = np.zeros((n_uses, n_parcels), dtype=bool)
    costs[use, parcel], gives[use, parcel], present[use, parcel] = cost, value, True
    out = np.zeros((n_uses, n_parcels), dtype=bool)
    for u in range(n_uses):
        for w in range(n_uses):
            if w != u:
                no_worse = present[w] & (costs[w] <= costs[u]) & (gives[w] >= gives[u])
                out[u] |= no_worse & ((costs[w] < costs[u]) | (gives[w] > gives[u]) | (w < u))
    return out[use, parcel]
