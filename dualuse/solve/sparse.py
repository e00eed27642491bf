"""A column-compressed sparse matrix in plain numpy: what the structured solve needs of one.

The structured solve prices every pair from the coupling rows' duals
(:math:`A^\\top y`), moves fixed parcels into the rows' bounds (:math:`A x`),
takes column subsets for its masters and samples, and a few per-row
reductions.  :class:`ColumnMatrix` does these with ``np.bincount`` over the
entries, each entry's column held once as ``entry_column``; rows are sorted
within each column, as HiGHS takes a column-wise matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class ColumnMatrix:
    """An ``n_rows × n_cols`` matrix: column ``j``'s entries are ``data[indptr[j]:indptr[j+1]]`` in rows
    ``indices[...]`` (increasing)."""

    n_rows: int
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    entry_column: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        counts = np.diff(self.indptr)
        dtype = np.int32 if counts.size < 2 ** 31 else np.int64
        object.__setattr__(self, "entry_column", np.repeat(np.arange(counts.size, dtype=dtype), counts))

    @classmethod
    def from_entries(cls, n_rows: int, n_cols: int, row: np.ndarray, column: np.ndarray,
                     value: np.ndarray) -> ColumnMatrix:
        """The matrix of (row, column, value) entries (no two at the same place)."""
        order = np.lexsort((row, column))
        indptr = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(column, minlength=n_cols), out=indptr[1:])
        return cls(int(n_rows), indptr, np.asarray(row)[order].astype(np.int32), np.asarray(value, dtype=float)[order])

    @classmethod
    def from_rowwise(cls, n_rows: int, n_cols: int, start: np.ndarray, index: np.ndarray,
                     value: np.ndarray) -> ColumnMatrix:
        """The matrix of a row-compressed layout (HiGHS's ``kRowwise``: row ``r`` at ``start[r]:start[r+1]``)."""
        row = np.repeat(np.arange(n_rows, dtype=np.int32), np.diff(start))
        order = np.argsort(index, kind="stable")  # stable: rows stay increasing within each column
        indptr = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(index, minlength=n_cols), out=indptr[1:])
        return cls(int(n_rows), indptr, row[order], np.asarray(value, dtype=float)[order])

    @property
    def n_cols(self) -> int:
        return int(self.indptr.size - 1)

    @property
    def nnz(self) -> int:
        return int(self.data.size)

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_rows, self.n_cols

    def t_dot(self, y: np.ndarray) -> np.ndarray:
        """:math:`A^\\top y`, one value per column."""
        return np.bincount(self.entry_column, weights=self.data * y[self.indices], minlength=self.n_cols)

    def abs_t_dot(self, y: np.ndarray) -> np.ndarray:
        """:math:`|A|^\\top y`."""
        return np.bincount(self.entry_column, weights=np.abs(self.data) * y[self.indices], minlength=self.n_cols)

    def dot(self, x: np.ndarray) -> np.ndarray:
        """:math:`A x`, one value per row."""
        return np.bincount(self.indices, weights=self.data * x[self.entry_column], minlength=self.n_rows)

    def row_abs_max(self) -> np.ndarray:
        """The largest :math:`|a_{rj}|` of each row (0 for an empty one)."""
        out = np.zeros(self.n_rows)
        np.maximum.at(out, self.indices, np.abs(self.data))
        return out

    def row_max_of(self, values: np.ndarray) -> np.ndarray:
        """Per row, the largest of ``values`` (one per entry), −inf for an empty row."""
        out = np.full(self.n_rows, -np.inf)
        np.maximum.at(out, self.indices, values)
        return out

    def split(self, at: int) -> tuple[ColumnMatrix, ColumnMatrix]:
        """The columns before ``at`` and those from ``at`` on, as views of this matrix's arrays."""
        cut = int(self.indptr[at])
        return (ColumnMatrix(self.n_rows, self.indptr[:at + 1], self.indices[:cut], self.data[:cut]),
                ColumnMatrix(self.n_rows, self.indptr[at:] - cut, self.indices[cut:], self.data[cut:]))

    def columns(self, chosen: np.ndarray) -> ColumnMatrix:
        """The matrix of the columns ``chosen``, in that order."""
        starts, counts = self.indptr[chosen], np.diff(self.indptr)[chosen]
        indptr = np.zeros(chosen.size + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        entries = np.repeat(starts - indptr[:-1], counts) + np.arange(indptr[-1])
        return ColumnMatrix(self.n_rows, indptr, self.indices[entries], self.data[entries])



def reduce_groups(ufunc: np.ufunc, values: np.ndarray, offsets: np.ndarray, empty: float) -> np.ndarray:
    """``ufunc.reduce`` of each group of consecutive ``values`` (group ``g`` is
    ``values[offsets[g]:offsets[g+1]]``), ``empty`` for a group without any."""
    out = np.full(offsets.size - 1, empty, dtype=np.result_type(values, type(empty)))
    filled = offsets[1:] > offsets[:-1]
    if values.size:
        out[filled] = ufunc.reduceat(values[:offsets[-1]], offsets[:-1][filled])
    return out
