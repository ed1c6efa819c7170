"""The contract of every operator as data: constraints and named ambiguities."""

from __future__ import annotations

from . import marn, v3
from .model import Ambiguity, Constraint

CONSTRAINTS: tuple[Constraint, ...] = marn.CONSTRAINTS + v3.CONSTRAINTS
AMBIGUITIES: tuple[Ambiguity, ...] = marn.AMBIGUITIES + v3.AMBIGUITIES
BY_ID: dict[str, Constraint] = {c.id: c for c in CONSTRAINTS}

if len(BY_ID) != len(CONSTRAINTS):
    raise RuntimeError("duplicate constraint id in the catalogue")


def constraint(cid: str) -> Constraint:
    try:
        return BY_ID[cid]
    except KeyError:
        raise KeyError(f"unknown constraint id {cid!r}") from None
