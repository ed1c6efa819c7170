"""Differential fuzzing: the same drawn case on two sides, a failure being ANY behavioural difference.

The contract checks judge one backend against the documents; they pass whatever the documents permit (an
unpinned rejection code, a result anywhere inside the error bound). Differential fuzzing compares a backend
with a reference instead, so it sees changes the contract cannot: a new CANN version against the last one, a
fix against the code before it. The reference side is either

  live      another backend (`fuzz --against NAME [--against-fault F ...]`), run on every drawn case, or
  baseline  a run folder written by `mc2-conformance run` (`fuzz --baseline DIR`). A folder holds only what
            ran, so in this mode the fuzzer draws from the cases recorded there (catalogue cases, by case id,
            with the recorded seed) and compares a drawn case only where the live inputs hash to the recorded
            inputs_sha256; the others are counted as skipped (not comparable), never as equal.

Difference classes (`differences`, first one found names the failure; shrinking keeps that class):
  status      the status code of some rank differs
  phase       the phase (GetWorkspaceSize / launch) of some rank's status differs
  ranks       the number of rank results differs
  category    the judged outcome category differs (pass, wrong_status, tolerance, ...)
  outputs     the set of outputs (names per rank) differs
  bits        the bytes of some output differ (sha256 of every output of every rank)
A case either side reports `unsupported` is not compared (rejected from the draw).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..judge import run_case
from ..context import Context

CLASSES = ("status", "phase", "ranks", "category", "outputs", "bits")


@dataclass(frozen=True)
class Behaviour:
    """What the differential fuzzer compares of one judged run."""

    category: str
    observed: tuple[tuple[int, str], ...]
    output_hashes: dict

    @classmethod
    def of(cls, outcome) -> "Behaviour":
        return cls(outcome.category, tuple((int(s), str(p)) for s, p in outcome.observed),
                   dict(outcome.output_hashes))

    @classmethod
    def of_record(cls, mc2: dict) -> "Behaviour":
        return cls(mc2.get("category", ""), tuple((int(s), str(p)) for s, p in mc2.get("observed") or ()),
                   dict(mc2.get("output_hashes") or {}))


def differences(ref: Behaviour, new: Behaviour) -> list[tuple[str, str]]:
    """[(class, detail)] of every difference between the reference's and the candidate's behaviour."""
    found = []
    if len(ref.observed) != len(new.observed):
        found.append(("ranks", f"{len(ref.observed)} rank results -> {len(new.observed)}"))
    for r, ((s0, p0), (s1, p1)) in enumerate(zip(ref.observed, new.observed)):
        if s0 != s1:
            found.append(("status", f"rank {r}: status {s0} -> {s1}"))
        if p0 != p1:
            found.append(("phase", f"rank {r}: phase {p0 or '-'} -> {p1 or '-'}"))
    if ref.category != new.category:
        found.append(("category", f"outcome {ref.category} -> {new.category}"))
    names0, names1 = set(ref.output_hashes), set(new.output_hashes)
    if names0 != names1:
        found.append(("outputs", f"outputs {sorted(names0 ^ names1)} present on one side only"))
    bits = sorted(k for k in names0 & names1 if ref.output_hashes[k] != new.output_hashes[k])
    if bits:
        found.append(("bits", f"output bytes differ: {', '.join(bits[:8])}" + (" ..." if len(bits) > 8 else "")))
    return found


def describe(found: list[tuple[str, str]]) -> str:
    return "\n".join(f"  difference {cls}: {detail}" for cls, detail in found)


class LiveReference:
    """The reference is another backend, judged on the same case and seed."""

    mode = "live"

    def __init__(self, backend, label: str = ""):
        self.backend, self.label = backend, label or getattr(backend, "name", "reference")

    def behaviour(self, case, seed: int, *, context: Context, inputs_sha256: str) -> Behaviour | None:
        outcome = run_case(case, self.backend, context.replace(seed=seed, with_metrics=False))
        return None if outcome.category == "unsupported" else Behaviour.of(outcome)


class BaselineReference:
    """The reference is a run folder: per (case id, seed) the recorded mc2 property."""

    mode = "baseline"

    def __init__(self, folder):
        from .. import casegen
        from ..reporting.diff import load
        self.folder = Path(folder)
        _, tests = load(folder)
        self.records: dict[tuple[str, int], dict] = {}
        self.not_in_catalogue: list[str] = []
        pool = {}
        catalogue = {c.id: c for c in casegen.catalogue()}
        for t in tests.values():
            mc2 = t.get("mc2") or {}
            cid, seed = mc2.get("case_id"), mc2.get("seed")
            if not cid or seed is None or not mc2.get("inputs_sha256") or mc2.get("category") == "unsupported":
                continue
            case = catalogue.get(cid)
            if case is None:  # a regression or fuzz case: not drawable from the catalogue
                self.not_in_catalogue.append(cid)
                continue
            self.records[(cid, int(seed))] = mc2
            pool[(cid, int(seed))] = case
        # cheapest first: hypothesis shrinks a sampled element toward the front of the list
        self.pool = sorted(((case, seed) for (cid, seed), case in pool.items()), key=lambda cs: (cs[0].cost, cs[0].id))
        self.label = f"baseline {self.folder}"
        self.skipped_inputs = 0

    def behaviour(self, case, seed: int, *, context: Context, inputs_sha256: str) -> Behaviour | None:
        mc2 = self.records.get((case.id, seed))
        if mc2 is None or mc2.get("inputs_sha256") != inputs_sha256:
            self.skipped_inputs += 1  # not the same inputs: not comparable
            return None
        return Behaviour.of_record(mc2)

    def strategy(self):
        from hypothesis import strategies as st
        if not self.pool:
            raise ValueError(f"{self.folder}: no recorded catalogue case with a seed and inputs hash to compare")
        return st.sampled_from(self.pool)
