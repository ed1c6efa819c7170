"""The fuzz spaces, without hypothesis (the command line lists them): each operator family's short name (its
record's `fuzz` strategy), the invalid space, and all of them."""

from __future__ import annotations

from .. import operators


def spaces() -> tuple[str, ...]:
    return ("all", *(op.short for op in operators.all_operators() if op.fuzz is not None), "invalid")
