"""The registry of operators: every generic layer iterates it or looks an operator up by name.

Adding an operator is its own modules (see record.py's `Operator` for what a record holds or points to) plus
one line in `REGISTERED` below. Nothing outside an operator's own modules compares operator names.
"""

from __future__ import annotations

from .mar import MAR
from .marn import INPLACE, MARN
from .qmar import QMAR
from .record import Abi, Operator, Ref
from .v3 import V3

REGISTERED: tuple[Operator, ...] = (
    MARN,
    INPLACE,
    V3,
    QMAR,
    MAR,
)

__all__ = ["Abi", "Operator", "Ref", "UnknownOperator", "REGISTERED", "all_operators", "get", "names", "twin_of"]

_BY_NAME = {op.name: op for op in REGISTERED}
if len(_BY_NAME) != len(REGISTERED):
    raise RuntimeError("two operator records share a name")
for _op in REGISTERED:
    if _op.twin is not None and _BY_NAME.get(_op.twin, _op).twin != _op.name:
        raise RuntimeError(f"{_op.name} declares twin {_op.twin}, which is not registered or not its twin back")


class UnknownOperator(KeyError):
    """An operator name no record describes."""

    def __str__(self) -> str:
        return (f"unknown operator {self.args[0]!r}: the registered operators are {', '.join(_BY_NAME)} "
                f"(conformance/operators/)")


def get(name: str) -> Operator:
    """The record of operator `name`; UnknownOperator (one line, naming the known ones) otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownOperator(name) from None


def all_operators() -> tuple[Operator, ...]:
    return REGISTERED


def names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def twin_of(op: Operator) -> Operator | None:
    """The declared twin's record, if `op` has one."""
    return get(op.twin) if op.twin else None
