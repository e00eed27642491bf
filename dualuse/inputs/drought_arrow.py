"""The drought-year table read straight from Arrow when it is as ``dualuse example`` and ``prepare`` write it.

A table of a million parcels and three years has three million rows: read
through pandas, their text ids alone cost hundreds of MB.  When every year
lists every parcel once, in the parcel layer's order, with every value in
range, the productivity and PV yield arrays are taken from the Arrow columns
as they are; any other table is left to the general reader of
:mod:`dualuse.inputs.drought`, which names what is wrong row by row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualuse.errors import has_extra
from dualuse.inputs.schema import Column


def in_layer_order(path: str, table: str, columns: tuple[Column, ...],
                   parcel_id: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """The years' names and the [year, parcel] productivity and PV yield (NaN: the normal yield) of a table
    listed year by year in the parcel layer's order with every value in range; None for any other table
    (or without pyarrow)."""
    if not has_extra("arrow"):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyogrio

    try:
        _, arrow = pyogrio.read_arrow(path, layer=table, read_geometry=False)
    except Exception:  # the general reader says why
        return None
    names = set(arrow.column_names)
    if not {c.name for c in columns if c.required} <= names:
        return None
    n = parcel_id.size
    if n == 0 or arrow.num_rows % n:
        return None
    ids, scenario = arrow.column("parcel_id"), arrow.column("scenario")
    if not pa.types.is_string(ids.type) or not pa.types.is_string(scenario.type):
        return None
    years = [str(s) for s in pc.unique(scenario).to_pylist()]
    if len(years) * n != arrow.num_rows or any(not y or y != y.strip() for y in years if y is not None):
        return None
    layer_ids = _as_text(parcel_id, ids.type)
    for k, year in enumerate(years):
        block = slice(k * n, (k + 1) * n)
        if not (pc.all(pc.equal(ids.slice(block.start, n), layer_ids)).as_py()
                and pc.all(pc.equal(scenario.slice(block.start, n), year)).as_py()):
            return None
    values = {}
    for column in columns:
        if column.kind != "float":
            continue
        if column.name not in names:
            values[column.name] = np.full(arrow.num_rows, np.nan)
            continue
        data = arrow.column(column.name)
        if not (pa.types.is_floating(data.type) or pa.types.is_integer(data.type)) or data.null_count:
            return None
        array = data.to_numpy().astype(float, copy=False)
        if not (np.isfinite(array).all() and array.min() >= column.lo and array.max() <= column.hi):
            return None
        values[column.name] = array
    shape = (len(years), n)
    return years, values["productivity_t_ha"].reshape(shape), values["pv_yield_kwh_kwp"].reshape(shape)


def _as_text(values: np.ndarray, text_type: Any) -> Any:
    """The Arrow array of ``str(v)`` for each value: straight from the values when they are all text."""
    import pyarrow as pa

    try:
        inferred = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        inferred = None
    if inferred is not None and inferred.null_count == 0 and (
            pa.types.is_string(inferred.type) or pa.types.is_large_string(inferred.type)):
        return inferred.cast(text_type)
    return pa.array([str(p) for p in values], type=text_type)
