"""How values cross the socket between the engine and a worker: arrays by shared-memory slot where they fit,
everything else pickled. Both sides use the same two functions, so the format lives in one place."""

from __future__ import annotations

import dataclasses

import numpy as np

from .arena import Arena, BumpAllocator, nbytes_needed


def pack(obj, arena: Arena | None, alloc: BumpAllocator | None):
    """An array goes into the arena (if it fits in the sender's region), a list/tuple element-wise."""
    if isinstance(obj, np.ndarray) and arena is not None and alloc is not None:
        offset = alloc.take(nbytes_needed(obj))
        if offset is not None:
            return ("slot", arena.put(offset, obj))
        return ("obj", obj)
    if isinstance(obj, (list, tuple)):
        return ("seq", type(obj) is tuple, [pack(o, arena, alloc) for o in obj])
    return ("obj", obj)


def unpack(packed, arena: Arena | None, *, copy: bool):
    """The inverse of `pack`; `copy` detaches arrays from the arena (the receiver keeps them past the call)."""
    kind = packed[0]
    if kind == "slot":
        view = arena.view(packed[1])
        return np.array(view) if copy else view
    if kind == "seq":
        items = [unpack(p, arena, copy=copy) for p in packed[2]]
        return tuple(items) if packed[1] else items
    return packed[1]


def tensor_slot(arg, arena: Arena, alloc: BumpAllocator):
    """A TensorArg without its data, plus the slot its data went to (None for shape-only descriptors)."""
    if arg is None:
        return None
    if arg.data is None:
        return (arg, None)
    data = np.asarray(arg.data)
    offset = alloc.take(nbytes_needed(data))
    if offset is None:  # the engine sizes the arena first, so this means a bug in that sizing
        raise RuntimeError("rank engine: arena too small for the inputs")
    return (dataclasses.replace(arg, data=None), arena.put(offset, data))


def tensor_view(entry, arena: Arena):
    """Rebuild the TensorArg on the worker side: its data is a read-only view of the arena."""
    if entry is None:
        return None
    arg, slot = entry
    return arg if slot is None else dataclasses.replace(arg, data=arena.view(slot))

