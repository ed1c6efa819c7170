"""Small mutators for invalid cases: each returns f(tensors, attrs) that breaks one thing in place."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

Mutator = Callable[[dict, dict], None]  # f(tensors, attrs): breaks one thing in place


def set_tensor(name: str, **changes: Any) -> Mutator:
    def f(t, a):
        t[name] = replace(t[name], **changes)
    return f


def null(name: str) -> Mutator:
    def f(t, a):
        t[name] = None
    return f


def set_attr(name: str, value: Any) -> Mutator:
    def f(t, a):
        a[name] = value
    return f


def set_shapes(names: tuple[str, ...], shape: tuple[int, ...]) -> Mutator:
    """Give every present tensor among `names` the same shape (e.g. residual and the outputs that follow it)."""
    def f(t, a):
        for name in names:
            if t.get(name) is not None:
                t[name] = replace(t[name], shape=shape)
    return f


def set_all_dtypes(dtype: str) -> Mutator:
    """Every tensor that is passed takes `dtype`."""
    def f(t, a):
        for name, spec in t.items():
            if spec is not None:
                t[name] = replace(spec, dtype=dtype)
    return f


def all_of(*mutators: Mutator) -> Mutator:
    def f(t, a):
        for m in mutators:
            m(t, a)
    return f
