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


def all_of(*mutators: Mutator) -> Mutator:
    def f(t, a):
        for m in mutators:
            m(t, a)
    return f
