"""Compact per-frame storage for stages that keep something of every frame until the episode ends.

A stage that appends Python objects per frame (a float in a list costs 32 bytes, a small numpy
array about 100 bytes of overhead) grows with the episode: a 2-hour film has 170,000 frames.
Two stores keep that down:

- :class:`Column`: per-frame scalars or small rows in one growable numpy array (8 bytes for a
  float64, 1 for a bool), appended like a list, read like an array;
- :class:`Spill`: large fixed-shape rows (grids, thumbnails, palettes; hundreds of bytes a frame)
  written to an anonymous temporary file as they come and read back by range or index list, so
  that only the rows a computation needs at a time are in memory.
"""

from __future__ import annotations

import io
import os
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

GROWTH = 1.25
"""Factor by which a full :class:`Column` grows. Unused capacity is memory too: a quarter more at most
(doubling would leave up to half of it empty), at the cost of a few more copies (4 per row on average,
against 1 when doubling)."""
MIN_CAPACITY = 256
"""Rows a :class:`Column` allocates at first."""
ITER_ROWS = 4096
"""Rows a :class:`Column` turns into Python values at a time when iterated."""
READ_BYTES = 1 << 20
"""Bytes a :class:`Spill` reads at a time when iterated."""


class Column:
    """A growable numpy array of per-frame values: appended like a list, read like an array.

    It holds ``len(column)`` rows of ``row_shape`` in one array whose capacity grows by
    :data:`GROWTH` when full. ``np.asarray(column)`` (and :meth:`view`) is a view of the rows, no
    copy: valid until the next append, which may move them. Like the list it replaces, an integer
    index gives Python values (a row as a tuple), a slice or index array a new array, and ``==``
    compares the whole column (True or False).

    Args:
        dtype: Type of the values.
        row_shape: Shape of each frame's value (``()`` for a scalar, ``(3,)`` for ``(dx, dy, scale)``).
    """

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __init__(self, dtype: Any, row_shape: Sequence[int] = ()) -> None:
        self.dtype = np.dtype(dtype)
        self.row_shape = tuple(row_shape)
        self._data = np.empty((0, *self.row_shape), self.dtype)
        self._size = 0

    @classmethod
    def of(cls, values: Any, dtype: Any = None) -> Column:
        """A column holding ``values`` (an array-like of rows), with their dtype unless one is given."""
        array = np.asarray(values, dtype=dtype)
        column = cls(array.dtype, array.shape[1:])
        column.extend(array)
        return column

    def __len__(self) -> int:
        return self._size

    def view(self) -> np.ndarray:
        """The rows as an array that shares this column's memory (valid until the next append)."""
        return self._data[: self._size]

    def append(self, value: Any) -> None:
        """Add one frame's value at the end."""
        if self._size == len(self._data):
            self._reserve(self._size + 1)
        self._data[self._size] = value
        self._size += 1

    def extend(self, values: Any) -> None:
        """Add the rows of ``values`` (an array-like of shape ``(n, *row_shape)``) at the end.

        Raises:
            ValueError: The rows have another shape.
        """
        rows = np.asarray(values)
        if rows.shape[1:] != self.row_shape or rows.ndim != len(self.row_shape) + 1:
            raise ValueError(f"rows of shape {self.row_shape} expected, got an array of shape {rows.shape}")
        end = self._size + len(rows)
        if end > len(self._data):
            self._reserve(end)
        self._data[self._size : end] = rows
        self._size = end

    def clear(self) -> None:
        """Drop every row and the memory they took."""
        self._data = np.empty((0, *self.row_shape), self.dtype)
        self._size = 0

    def _reserve(self, rows: int) -> None:
        capacity = max(rows, MIN_CAPACITY, int(len(self._data) * GROWTH))
        grown = np.empty((capacity, *self.row_shape), self.dtype)
        grown[: self._size] = self._data[: self._size]
        self._data = grown

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int | np.integer):
            value = self.view()[key].tolist()
            return tuple(value) if isinstance(value, list) else value
        return self.view()[key].copy()

    def __setitem__(self, key: Any, value: Any) -> None:
        self.view()[key] = value

    def __iter__(self) -> Iterator[Any]:
        for start in range(0, self._size, ITER_ROWS):  # Python objects for a block of rows at a time
            values = self._data[start : min(start + ITER_ROWS, self._size)].tolist()
            yield from (map(tuple, values) if self.row_shape else values)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        rows = self.view()
        if dtype is not None and np.dtype(dtype) != rows.dtype:
            return rows.astype(dtype)
        return rows.copy() if copy else rows

    def __eq__(self, other: object) -> bool:
        theirs = other.view() if isinstance(other, Column) else np.asarray(other)
        return self.view().shape == theirs.shape and bool(np.array_equal(self.view(), theirs))

    def __repr__(self) -> str:
        return f"Column({self.dtype}, rows={self._size}, row_shape={self.row_shape})"

    def __getstate__(self) -> dict[str, Any]:
        # only the rows travel (a part sent back from a segment's process), not the spare capacity
        return {"dtype": self.dtype, "row_shape": self.row_shape, "rows": self.view().copy()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.dtype, self.row_shape = state["dtype"], state["row_shape"]
        self._data, self._size = state["rows"], len(state["rows"])


class Spill:
    """Fixed-shape rows appended to an anonymous temporary file, read back into fresh arrays.

    For per-frame data too large to keep for a whole film in memory and needed only a window at
    a time at the end. The file (``tempfile.TemporaryFile``) has no name: it goes when the spill is
    cleared or collected, or when the process ends however it ends. Reads seek and ``readinto`` a
    fresh array; a memory map over the whole file is avoided on purpose, since every page it
    touches counts in the process' resident memory. A spill cannot be pickled (its file stays in
    its process): send ``spill[:]``, an array, instead.

    Args:
        dtype: Type of the values.
        row_shape: Shape of each frame's row.
    """

    def __init__(self, dtype: Any, row_shape: Sequence[int]) -> None:
        self.dtype = np.dtype(dtype)
        self.row_shape = tuple(row_shape)
        self._row_bytes = self.dtype.itemsize * int(np.prod(self.row_shape, dtype=np.int64))
        self._file: io.BufferedRandom | None = None  # opened at the first row: most spills of a test stay empty
        self._close: weakref.finalize | None = None  # closes the file when the spill is collected
        self._rows = 0
        self._at_end = True

    def __len__(self) -> int:
        return self._rows

    @property
    def nbytes(self) -> int:
        """Bytes the rows take on disk."""
        return self._rows * self._row_bytes

    def append(self, row: Any) -> None:
        """Add one frame's row at the end."""
        self.extend(np.asarray(row, dtype=self.dtype)[None])

    def extend(self, rows: Any) -> None:
        """Add the rows of ``rows`` (an array-like of shape ``(n, *row_shape)``) at the end.

        Raises:
            ValueError: The rows have another shape.
        """
        data = np.ascontiguousarray(rows, dtype=self.dtype)
        if data.shape[1:] != self.row_shape or data.ndim != len(self.row_shape) + 1:
            raise ValueError(f"rows of shape {self.row_shape} expected, got an array of shape {data.shape}")
        if not len(data):
            return
        if self._file is None:
            # the file lives as long as the spill: closed by clear(), or when the spill is collected
            self._file = tempfile.TemporaryFile()  # noqa: SIM115
            self._close = weakref.finalize(self, self._file.close)
        if not self._at_end:  # a read moved the position
            self._file.seek(0, os.SEEK_END)
            self._at_end = True
        self._file.write(data.data)
        self._rows += len(data)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` (clipped to the rows there are), as a new array."""
        start, stop = max(0, start), min(stop, self._rows)
        out = np.empty((max(0, stop - start), *self.row_shape), self.dtype)
        self._read_into(out, start)
        return out

    def take(self, indices: Any) -> np.ndarray:
        """The rows at ``indices`` (any order, repeats allowed, negative from the end), as a new array.

        Each run of consecutive rows is one read.

        Raises:
            IndexError: An index is out of range.
        """
        wanted = np.asarray(indices, dtype=np.int64).ravel()
        if len(wanted) and (wanted.min() < -self._rows or wanted.max() >= self._rows):
            raise IndexError(f"row index out of range for a spill of {self._rows} rows")
        wanted = np.where(wanted < 0, wanted + self._rows, wanted)
        unique, inverse = np.unique(wanted, return_inverse=True)
        rows = np.empty((len(unique), *self.row_shape), self.dtype)
        breaks = np.flatnonzero(np.diff(unique) != 1) + 1
        for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, len(unique)], strict=True):
            self._read_into(rows[lo:hi], int(unique[lo]))
        return rows[inverse.ravel()]

    def _read_into(self, out: np.ndarray, start: int) -> None:
        """Fill ``out`` (contiguous) with the rows from ``start`` on: one seek, then ``readinto``."""
        if not len(out):
            return
        assert self._file is not None
        self._file.seek(start * self._row_bytes)
        self._at_end = False
        buffer = out.data.cast("B")
        done = 0
        while done < len(buffer):  # readinto may stop short; a regular file then gives the rest
            got = self._file.readinto(buffer[done:])
            if not got:
                raise OSError(f"spill file ended at byte {start * self._row_bytes + done} of {self.nbytes}")
            done += got

    def __getitem__(self, key: Any) -> np.ndarray:
        """``spill[i]`` (one row), ``spill[a:b]`` (a range) or ``spill[[i, j, ...]]``: new arrays."""
        if isinstance(key, int | np.integer):
            return self.take([key])[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(self._rows)
            return self.read(start, stop) if step == 1 else self.take(np.arange(start, stop, step))
        return self.take(key)

    def __iter__(self) -> Iterator[np.ndarray]:
        block = max(1, READ_BYTES // max(self._row_bytes, 1))
        for start in range(0, self._rows, block):
            yield from self.read(start, start + block)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("a spill's rows are on disk: reading them copies")
        rows = self.read(0, self._rows)
        return rows if dtype is None else rows.astype(dtype, copy=False)

    def clear(self) -> None:
        """Drop every row (the file goes with them)."""
        if self._close is not None:
            self._close()
        self._file, self._close, self._rows, self._at_end = None, None, 0, True

    def __repr__(self) -> str:
        return f"Spill({self.dtype}, rows={self._rows}, row_shape={self.row_shape})"

    def __reduce__(self) -> Any:
        raise TypeError("a Spill's rows are in a temporary file of this process; send spill[:] (an array) instead")
