"""Figures derived from the coefficients, made once and kept while the coefficients live.

Several stages ask for the same derived figures (each pair's community,
today's livelihoods per community, the LDN groups): the model's rows, the
pre-solve checks, the plan's KPIs, its tables and its break-evens.  A
figure is kept under the pairs' ``parcel`` array (dropped with it) and the
identity of the other coefficient arrays it is made from, so that
coefficients that differ only in other arrays (``dataclasses.replace``, as
the break-evens change one coefficient) share it.  The coefficient arrays
are never changed in place, so a kept figure stays right; treat a kept
figure as read-only.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: Per ``parcel`` array (by its id, dropped when it is): (name, ids of the arrays read, extra key) ->
#: (the arrays read, the figure).
_KEPT: dict[int, dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]]] = {}


def kept(coef: Any, name: str, fields: tuple[str, ...], make: Callable[[], T],
         extra: Hashable = None) -> T:
    """The figure ``name`` of these coefficients: ``make()`` the first time, the kept figure after.

    ``fields`` names every coefficient array ``make`` reads besides
    ``parcel`` (never ``parcel`` itself); ``extra`` is what else it depends
    on (a scenario parameter).
    """
    owner = coef.parcel
    table = _KEPT.get(id(owner))
    if table is None:
        try:
            weakref.finalize(owner, _KEPT.pop, id(owner), None)
        except TypeError:  # a parcel index that cannot be weakly referenced (not an ndarray)
            return make()
        table = _KEPT[id(owner)] = {}
    arrays = tuple(getattr(coef, f) for f in fields)
    key = (name, tuple(map(id, arrays)), extra)
    hit = table.get(key)
    if hit is None:
        hit = table[key] = (arrays, make())  # the arrays are held so that their ids stay theirs
    return hit[1]


def forget(coef: Any, name: str) -> None:
    """Drop the kept figures ``name`` of these coefficients (a large one not needed for a while)."""
    table = _KEPT.get(id(coef.parcel))
    if table is not None:
        for key in [k for k in table if k[0] == name]:
            del table[key]
