"""A read-only sequence whose items are computed only as far as they are read (issue 28).

A user's order of a mood has thousands of songs but a photo reads the first few: building all of
it cost ~2 ms of the event loop per new user. `LazySequence` pulls items from an iterator on
demand, keeps them, and knows its length up front.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar, overload

T = TypeVar("T")

_CHUNK = 16  # items pulled at least per step: one pull per item made iteration twice as slow


class LazySequence(Sequence[T]):
    """`items` must yield exactly `length` items; they are pulled in growing chunks when read."""

    def __init__(self, items: Iterable[T], length: int) -> None:
        self._done: list[T] = []
        self._rest: Iterator[T] | None = iter(items)
        self._length = length
        self._lock = threading.Lock()  # a generator may not be resumed by two threads at once

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            wanted = range(self._length)[index]
            if wanted:
                self._fill(max(wanted[0], wanted[-1]) + 1)
            return tuple(self._done[i] for i in wanted)  # a tuple, as a user's order was before
        index = range(self._length)[index]  # negative indices and the IndexError, as for a tuple
        if index >= len(self._done):
            self._fill(index + 1)
        return self._done[index]

    def __iter__(self) -> Iterator[T]:
        done = self._done
        i = 0
        while True:
            end = len(done)
            yield from islice(done, i, end)  # the items computed so far, at C speed
            i = end
            if i >= self._length:
                return
            self._fill(max(i + _CHUNK, 2 * i))  # doubling: reading it all costs one pass

    def __repr__(self) -> str:
        return f"<LazySequence {len(self._done)} of {self._length} read>"

    @property
    def materialised(self) -> int:
        """How many items have been computed so far (for tests and benchmarks)."""
        return len(self._done)

    def _fill(self, upto: int) -> None:
        with self._lock:
            missing = min(upto, self._length) - len(self._done)
            if missing > 0 and self._rest is not None:
                self._done.extend(islice(self._rest, max(missing, _CHUNK)))
                if len(self._done) >= self._length:
                    self._rest = None  # let the generator and what it holds go
            if len(self._done) < min(upto, self._length):
                raise RuntimeError(f"lazy sequence: items ran out at {len(self._done)} of {self._length}")
