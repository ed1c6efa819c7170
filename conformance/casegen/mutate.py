"""Small mutators for invalid cases: each returns f(tensors, attrs) that breaks one thing in place."""

from __future__ import annotations

from dataclasses import replace


def set_tensor(name, **changes):
    def f(t, a):
        t[name] = replace(t[name], **changes)
    return f


def null(name):
    def f(t, a):
        t[name] = None
    return f


def set_attr(name, value):
    def f(t, a):
        a[name] = value
    return f


def all_of(*mutators):
    def f(t, a):
        for m in mutators:
            m(t, a)
    return f
