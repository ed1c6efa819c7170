"""The contract of every operator as data: constraints and named ambiguities.

`CONSTRAINTS` is the contract as the default documents state it (shared/docs; each record's `revision` says
which); `constraints_for("repo-c29bc10")` gives it as a newer revision of the documents states it
(`--doc-revision`, spec.revisions)."""

from __future__ import annotations

from functools import lru_cache

from .. import operators
from .model import Ambiguity, Constraint
from .revisions import apply_revision, revision_ids_for


def _gathered(role: str) -> tuple:
    """Every operator's `role` records (constraints, ambiguities) in registry order; a Ref shared by twins once."""
    refs = {}
    for op in operators.all_operators():
        ref = getattr(op, role)
        if ref is not None:
            refs.setdefault(ref.path, ref)
    return tuple(item for ref in refs.values() for item in ref.load())


_DOCUMENTED: tuple[Constraint, ...] = _gathered("constraints")  # as the default documents state them
CONSTRAINTS: tuple[Constraint, ...] = apply_revision(_DOCUMENTED)
AMBIGUITIES: tuple[Ambiguity, ...] = _gathered("ambiguities")
BY_ID: dict[str, Constraint] = {c.id: c for c in CONSTRAINTS}

if len(BY_ID) != len(CONSTRAINTS):
    raise RuntimeError("duplicate constraint id in the catalogue")


def constraint(cid: str) -> Constraint:
    try:
        return BY_ID[cid]
    except KeyError:
        raise KeyError(f"unknown constraint id {cid!r}") from None


@lru_cache(maxsize=8)
def constraints_for(doc_revision: str | None) -> dict[str, Constraint]:
    """id -> record as `doc_revision` ("REV" or "DOC=REV,...") states it; None: the default documents.
    ValueError (one line, naming the known revisions) for an unknown revision."""
    if not doc_revision:
        return BY_ID
    chosen = apply_revision(_DOCUMENTED, revision_ids_for(doc_revision))
    return {c.id: c for c in chosen}
