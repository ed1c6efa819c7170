"""The contract of every operator as data: constraints and named ambiguities.

`CONSTRAINTS` is the contract as the default documents state it (shared/docs; each record's `revision` says
which); `constraints_for("repo-c29bc10")` gives it as a newer revision of the documents states it
(`--doc-revision`, spec.revisions)."""

from __future__ import annotations

from functools import lru_cache

from . import marn, v3
from .model import Ambiguity, Constraint
from .revisions import apply_revision, revision_ids_for

CONSTRAINTS: tuple[Constraint, ...] = apply_revision(marn.CONSTRAINTS + v3.CONSTRAINTS)
AMBIGUITIES: tuple[Ambiguity, ...] = marn.AMBIGUITIES + v3.AMBIGUITIES
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
    chosen = apply_revision(marn.CONSTRAINTS + v3.CONSTRAINTS, revision_ids_for(doc_revision))
    return {c.id: c for c in chosen}
