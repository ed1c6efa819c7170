"""Cases designed from the path model: for every side of every branch that the other signoff cases leave
unreached on a platform, the cheapest valid candidate (by the simulator's cost) that reaches it.

Each operator offers candidates (its record's casegen `path_candidates`: valid cases over a grid of shapes and
flags, each carrying params ("mkn", (m, k, n)) for its cost); the design is a greedy weighted set cover over the
(operator, dtype, platform, branch, side) items the rest of the signoff profile leaves open: the candidate reaching
an open item at the least cost per newly covered item is taken, until no candidate reaches an open item. Items that
stay open are reported by `mc2-conformance paths` with their stated reason (sim/cann/paths.Side.unreached) or as a
defect.
The design is deterministic (candidates in a fixed order, ties to the earlier), so case ids are stable.

The chosen cases are frozen to conformance/data/path_cases.json (onnx's backend tests: cases written once as data),
so building the catalogue costs no search; `mc2-conformance paths --write-cases` designs them anew
after a model or candidate change, and tests/test_path_design.py fails while the frozen file is stale.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from .. import operators
from . import estimate, serial
from .model import Case

FROZEN = Path(__file__).resolve().parent.parent / "data" / "path_cases.json"

# The simulator's cost of a case is casegen/estimate.py's host-side time (products, output and input elements,
# fitted to measured runs; it also orders the tests of a run), and a designed case must fit a worker's memory as
# that estimate says: at most SIGNOFF_HOST_BYTES, half of what the simulators accept (protocol.HOST_MEMORY_LIMIT_BYTES),
# so signoff's peak RSS per worker stays well inside its 2 GB target.
SIGNOFF_HOST_BYTES = 2**30
# Every side is designed for at each operator (within its record's path_own_branches) and platform; the other
# dtype of an operator is designed for too where a candidate at most this dear reaches it (a side that needs a
# large output is reached at one dtype: signoff's time budget, see README "Implementation paths")
SECOND_DTYPE_MAX_SECONDS = 0.25


def sim_cost(case: Case) -> float:
    """The simulator's estimated host seconds for `case` (casegen/estimate.py)."""
    return estimate.of_case(case).host_seconds


def reaches(case: Case, *, revision: str, platform) -> dict[str, str]:
    """{branch id: side} the case's invocation takes on `platform` at `revision`, by path coverage's rules
    (conformance/path_coverage.decisions: nothing for a rejected case, the host tiling only for a shape-only one);
    empty for an operator without a path model."""
    from .. import path_coverage  # the catalogue (frozen()) needs no simulator: imported on use
    model = path_coverage.models().get(case.op)
    return {} if model is None else dict(path_coverage.decisions(case, revision=revision, on=platform, model=model))


def _items(case: Case, revision: str) -> frozenset[tuple[str, str, str, str, str]]:
    """(operator, dtype, platform, branch, side) items the case reaches: each side is wanted at both dtypes of each
    operator (the inplace twin included) where a candidate of that dtype can reach it."""
    from ..sim.cann.paths import PLATFORMS
    return frozenset((case.op, case.dtype, p.name, bid, side) for p in PLATFORMS
                     for bid, side in reaches(case, revision=revision, platform=p).items())


def _own(op, branch_id: str) -> bool:
    return op.path_own_branches is None or branch_id.startswith(op.path_own_branches)


def _cover(candidates: list, wanted: set, reached: set, chosen: list, profile: str) -> None:
    """Greedy weighted set cover of `wanted` by `candidates` [(case, keys, cost)], appending to `chosen`."""
    while wanted:
        best = None
        for c, keys, cost in candidates:
            gain = len(keys & wanted)
            if gain and (best is None or cost / gain < best[0]):
                best = (cost / gain, c, keys)
        if best is None:
            return
        _, case, keys = best
        sides = sorted({f"{key[-2]}={key[-1]}@{key[-3]}" for key in keys & wanted})
        chosen.append(replace(case, profile=profile, params=case.params + (("path_sides", tuple(sides)),)))
        reached |= keys
        wanted -= keys
        candidates[:] = [(c, k, cost) for c, k, cost in candidates if c.id != case.id]


def design(existing: tuple[Case, ...], *, profile: str = "signoff", revision: str | None = None) -> list[Case]:
    """The path-designed cases that reach what the `profile` cases of `existing` leave unreached at `revision`
    (default: the newest modelled; see module)."""
    from ..sim.cann import revisions
    from ..sim.cann.paths import PLATFORMS
    revision = revisions.get(revision).name
    reached: set = set()
    for case in existing:
        if case.in_profile(profile):
            reached |= _items(case, revision)
    chosen: list[Case] = []
    for op in operators.all_operators():
        if op.path_candidates is None:
            continue
        # (platform, branch, side) with a stated reason: not designed for here
        stated = {(p.name, b.id, s.name) for b in op.path_branches.load() for s in b.sides for p in PLATFORMS
                  if s.reason_on(p.name)}
        estimates = [(c, estimate.of_case(c)) for c in op.path_candidates()]
        pool = [(c, _items(c, revision), e.host_seconds) for c, e in estimates
                if e.sim_host_bytes <= SIGNOFF_HOST_BYTES]
        for this in dict.fromkeys(c.op for c, _, _ in pool):  # candidate order: deterministic
            own = operators.get(this)
            # items without the dtype: each side at each operator and platform
            sides = [(c, frozenset((i[0],) + i[2:] for i in items if i[0] == this and _own(own, i[3])
                                   and i[2:] not in stated), cost) for c, items, cost in pool if c.op == this]
            done = {(i[0],) + i[2:] for i in reached}
            wanted = {key for _, keys, _ in sides for key in keys} - done
            _cover(sides, wanted, done, chosen, profile)
            reached |= {i for c in chosen if c.op == this for i in _items(c, revision)}
            # the second dtype where it is cheap
            cheap = [(c, frozenset(i for i in items if i[0] == this and _own(own, i[3]) and i[2:] not in stated),
                      cost) for c, items, cost in pool if c.op == this and cost <= SECOND_DTYPE_MAX_SECONDS]
            wanted = {key for _, keys, _ in cheap for key in keys} - reached
            _cover(cheap, wanted, reached, chosen, profile)
    return chosen


class PathCasesFileError(ValueError):
    """The frozen path cases are unreadable; the message is one line."""


def frozen(path: Path = FROZEN) -> list[Case]:
    """The frozen path-designed cases (catalogue cases: origin "catalogue")."""
    if not path.exists():
        return []
    try:
        return [serial.from_dict(d, origin="catalogue") for d in json.loads(path.read_text())["cases"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise PathCasesFileError(f"{path} is corrupted ({type(exc).__name__}: {exc}); restore it from git or "
                                 f"rewrite it: mc2-conformance paths --write-cases") from None


def write(cases: list[Case], path: Path = FROZEN) -> Path:
    from ..sim.cann import revisions
    path.write_text(json.dumps({"about": "cases designed from sim-cann's path model (conformance/casegen/"
                                         "path_design.py); rewrite: mc2-conformance paths --write-cases",
                                "revision": revisions.DEFAULT, "cases": [serial.to_dict(c) for c in cases]},
                               indent=1) + "\n")
    return path
