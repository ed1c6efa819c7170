"""Shared memory between the engine and its rank workers: one anonymous memfd per group, mapped by all.

Why a memfd: it has no name in /dev/shm, so nothing can leak when a process is killed; the kernel frees it
once the last process holding it exits. Its pages are allocated only when touched, so reserving generous
per-rank regions costs address space, not memory. The fd travels to the workers over their Unix socket.

Arrays travel as `Slot`s: (offset, dtype, shape, element strides) into the arena. A non-contiguous view (a
transposed or strided tensor) keeps its strides: the smallest span of the base buffer that holds the view is
copied, so the worker sees the same layout the case described.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass

import numpy as np

from ..protocol import span_elements

ALIGN = 64  # cache-line aligned slots; also satisfies the 32-byte alignment device copies prefer


@dataclass(frozen=True)
class Slot:
    offset: int
    dtype: np.dtype
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # in elements, all >= 0


def _element_strides(arr: np.ndarray) -> tuple[int, ...] | None:
    item = arr.dtype.itemsize
    if any(s < 0 or s % item for s in arr.strides):
        return None
    return tuple(s // item for s in arr.strides)


def nbytes_needed(arr: np.ndarray) -> int:
    strides = _element_strides(arr)
    if strides is None:
        return arr.nbytes
    return span_elements(arr.shape, strides) * arr.dtype.itemsize


def _round_up(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class Arena:
    """A growable shared buffer. The creator owns the fd; `attach` maps an fd received from the creator."""

    def __init__(self, fd: int, size: int):
        self.fd, self.size = fd, size
        self.buf = mmap.mmap(fd, size) if size else None

    @classmethod
    def create(cls, size: int, name: str = "mc2-arena") -> "Arena":
        fd = os.memfd_create(name, os.MFD_CLOEXEC)
        os.ftruncate(fd, max(size, ALIGN))
        return cls(fd, max(size, ALIGN))

    @classmethod
    def attach(cls, fd: int) -> "Arena":
        return cls(fd, os.fstat(fd).st_size)

    def close(self) -> None:
        if self.buf is not None:
            try:
                self.buf.close()
            except BufferError:  # a view is still alive somewhere; the mapping goes with the process
                pass
            self.buf = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def put(self, offset: int, arr: np.ndarray) -> Slot:
        """Copy `arr` into the arena at `offset`, keeping its layout where its strides allow."""
        strides = _element_strides(arr)
        if strides is None:  # negative or odd strides: send a contiguous copy
            arr, strides = np.ascontiguousarray(arr), _element_strides(np.ascontiguousarray(arr))
        slot = Slot(offset, arr.dtype, tuple(arr.shape), strides)
        self.view(slot, writable=True)[...] = arr
        return slot

    def view(self, slot: Slot, *, writable: bool = False) -> np.ndarray:
        item = slot.dtype.itemsize
        count = span_elements(slot.shape, slot.strides)
        if count == 0:
            return np.zeros(slot.shape, slot.dtype)
        flat = np.frombuffer(self.buf, slot.dtype, count, slot.offset)
        out = np.lib.stride_tricks.as_strided(flat, slot.shape, tuple(s * item for s in slot.strides),
                                              writeable=writable)
        return out


class BumpAllocator:
    """Hands out aligned offsets inside [start, end); `None` when an array does not fit (the caller then
    sends it through the socket instead)."""

    def __init__(self, start: int, end: int):
        self.start, self.end, self.next = start, end, start

    def take(self, nbytes: int) -> int | None:
        if self.next + nbytes > self.end:
            return None
        offset = self.next
        self.next = _round_up(offset + nbytes)
        return offset


def round_up(n: int) -> int:
    return _round_up(n)
