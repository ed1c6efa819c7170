"""Which cases reach each side of each implementation decision, on each platform: path coverage (issue 20).

Every registered operator's path model (its record's `path_branches` and `path_decide`, sim/cann/paths.py's
vocabulary) places a case on the published implementation's paths from its shapes alone; this module runs the
models over a set of cases and collects, per branch, side and platform, the ids of the cases that reach it
(results.PathCoverage). Nothing here names an operator: it iterates conformance.operators.

Which decisions a case meets (the rules, from the calling sequence every aclnn operator follows):
- a case the catalogue expects rejected (Case.rejects) meets none: GetWorkspaceSize returns before the tiling runs.
  The catalogue's expectation is the rule, not sim-cann's host verdict at the revision: the few cases whose verdict
  a revision changes (`mc2-conformance source-drift`) are placed as the documents expect them.
- an accepted shape-only case (descriptors only, never launched) meets only the decisions of the host tiling
  (Branch.stage "host tiling"): the kernels never run.
- a branch absent at the revision (Branch.present_at) is left out; a model deciding it is a model bug.
Decisions are cached per (model, case, revision, platform): the whole catalogue on both platforms is placed once per
process; the declared branches are read once too (so the first catalogue-wide placement decides its speed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Callable, Iterable, Mapping

from . import operators
from .results import BranchReach, PathCoverage, SideReach
from .sim.cann import revisions
from .sim.cann.paths import PLATFORMS, Branch, PathQuery, Platform, check_decision, platform

HOST_TILING = "host tiling"  # Branch.stage of the decisions a shape-only case meets


class PathModelError(ValueError):
    """A path model decided a branch or side it does not declare (a bug of the model; one line, naming the case)."""


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a cache key that costs nothing to hash
class PathModel:
    """One operator's path model: its decisions and the function placing one invocation on them."""

    branches: tuple[Branch, ...]
    decide: Callable[[PathQuery], Mapping[str, str]]


@cache
def models() -> dict[str, PathModel]:
    """Operator name -> its path model, for every registered operator whose record points to one (read once)."""
    return {op.name: PathModel(tuple(op.path_branches.load()), op.path_decide.load())
            for op in operators.all_operators() if op.path_branches is not None and op.path_decide is not None}


def branches_at(revision: str, by_op: Mapping[str, PathModel]) -> tuple[Branch, ...]:
    """Every branch of the models present at `revision`, once (operators share some, e.g. the communication
    tiling's), in the models' order."""
    out: dict[str, Branch] = {}
    for model in by_op.values():
        for b in model.branches:
            if out.setdefault(b.id, b) != b:
                raise PathModelError(f"two path models declare branch {b.id!r} differently")
    return tuple(b for b in out.values() if b.present_at(revision))


_DECIDED: dict = {}  # (model, case, revision, platform name) -> {branch id: side}, every rule applied


def decisions(case, *, revision: str, on: Platform, model: PathModel) -> Mapping[str, str]:
    """{branch id: side} of the decisions `case` meets at `revision` on platform `on` (the module's rules)."""
    key = (model, case, revision, on.name)
    hit = _DECIDED.get(key)
    if hit is not None:
        return hit
    if case.rejects:
        taken: Mapping[str, str] = {}
    else:
        query = PathQuery(case.op, case.tensor_map, case.attr_map, case.world_size, revision, on)
        taken = model.decide(query)
        try:
            check_decision(model.branches, taken)
        except ValueError as exc:
            raise PathModelError(f"case {case.id}: the path model of {case.op} {exc}") from None
        declared = {b.id: b for b in model.branches}
        for bid in taken:
            if not declared[bid].present_at(revision):
                raise PathModelError(f"case {case.id}: the path model of {case.op} decided {bid}, absent at "
                                     f"revision {revision}")
        if case.shape_only:
            taken = {bid: side for bid, side in taken.items() if declared[bid].stage == HOST_TILING}
    _DECIDED[key] = taken
    return taken


def platforms_named(names: Iterable[str] | None) -> tuple[Platform, ...]:
    """The platforms `names` (None: every modelled one); sim.cann.paths.UnknownPlatform for an unknown name."""
    return PLATFORMS if names is None else tuple(platform(n) for n in names)


def coverage(cases: Iterable, *, revision: str | None = None, platforms: Iterable[str] | None = None,
             by_op: Mapping[str, PathModel] | None = None) -> PathCoverage:
    """Which of `cases` (casegen Cases) reach each side of each branch present at `revision` (a revisions name;
    None: revisions.DEFAULT) on each of `platforms` (names; None: all). `by_op`: the path models (default: the
    records'). A case of an operator without a path model is not placed. UnknownRevision / UnknownPlatform for
    unknown names, PathModelError for a model that decides what it does not declare."""
    rev = revisions.get(revision).name
    on = platforms_named(platforms)
    by_op = models() if by_op is None else by_op
    branches = branches_at(rev, by_op)
    reached: dict = {(b.id, s.name, p.name): [] for b in branches for s in b.sides for p in on}
    placed = []
    for case in cases:
        model = by_op.get(case.op)
        if model is None:
            continue
        placed.append(case.id)
        for p in on:
            for bid, side in decisions(case, revision=rev, on=p, model=model).items():
                reached[(bid, side, p.name)].append(case.id)
    return PathCoverage(
        revision=rev, platforms=tuple(p.name for p in on), cases=tuple(sorted(placed)),
        branches=[BranchReach(b.id, b.stage, b.decision, b.source_at(rev), tuple(b.operators), b.published, b.bound,
                              b.platform_dependent,
                              [SideReach(s.name, s.condition, s.unreached,
                                         {p.name: tuple(sorted(reached[(b.id, s.name, p.name)])) for p in on},
                                         tuple(s.unreached_on))
                               for s in b.sides])
                  for b in branches])


def of_case_ids(case_ids: Iterable[str], catalogue: Iterable, *, revision: str | None = None) -> PathCoverage:
    """The coverage of the cases of `catalogue` whose ids are `case_ids` (what a run judged; ids not in it, such as
    fuzz draws, are not placed), on every platform: what the pytest plugin records. A model failure is recorded as
    the coverage's `error`, never raised: the run's report must not be lost to it. (The catalogue is passed in:
    casegen's path design places cases with `decisions`, so this module does not import casegen.)"""
    try:
        rev = revisions.get(revision).name
    except revisions.UnknownRevision as exc:
        return PathCoverage(error=str(exc))
    by_id = {c.id: c for c in catalogue}
    try:
        return coverage([by_id[i] for i in sorted(set(case_ids)) if i in by_id], revision=rev)
    except Exception as exc:  # noqa: BLE001 - any model bug: said on the page, the run's results kept
        return PathCoverage(revision=rev, platforms=tuple(p.name for p in PLATFORMS),
                            error=f"the path model failed: {type(exc).__name__}: {exc}")
