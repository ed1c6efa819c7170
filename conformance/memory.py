"""Keep freed heap memory for reuse (glibc only).

A sign-off run allocates and frees many 100+ MB arrays. By default glibc returns each to the kernel (mmap
above a threshold, trim of the heap top) and the next case faults every page in again; on the sandboxed
2-core machines this project is measured on, that page-fault time was 2/3 of a large case (6.9 s system
time of 9.3 s). Raising the mmap and trim thresholds keeps the memory in the process, so later cases reuse
it (system time 0.03 s).
The mmap threshold is 16 MiB, not more: the large cases work in row blocks of <= 8 MiB, which the heap keeps
and reuses, while whole tensors (64-256 MiB) are mapped and handed back on free. A higher threshold put those
in the heap too, where their holes fragment it: the 8-rank tensor-parallel case grew by 400 MiB that way
(bench/bench_memory.py), so a pytest worker's peak RSS rose above what it ever held at once.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False
MMAP_THRESHOLD = 16 * 2**20  # blocks below this are kept for reuse; whole tensors above it are mapped and returned


def keep_freed_memory() -> bool:
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL("libc.so.6")
        _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        _done = False
    return _done
