"""`mc2-conformance paths`: which implementation paths a profile's cases reach, per platform (path coverage).

Lists every decision the path models name (id, stage, its source at the revision, what is decided), each side with
the number of cases reaching it on each platform and a few of their ids, then the sides no case reaches with the
model's stated reason. Exit status 1 when a side is unreached and its model states no reason (the same rule as
tests/test_paths.py's gate), 0 otherwise.
"""

from __future__ import annotations

import json

from ..results import NO_REASON
from .common import CliError, add_suite_options, context_of

EXAMPLES = 3  # case ids shown per side and platform (--json lists them all)


def _reached(side, platforms) -> str:
    parts = []
    for p in platforms:
        ids = side.reached.get(p, ())
        shown = ", ".join(ids[:EXAMPLES]) + (", ..." if len(ids) > EXAMPLES else "")
        parts.append(f"{p}: {len(ids)}" + (f" ({shown})" if ids else ""))
    return "; ".join(parts)


def lines(cov, *, profile: str) -> list[str]:
    """The coverage as text (cov: results.PathCoverage)."""
    out = [f"implementation paths at source revision {cov.revision}, profile {profile} ({len(cov.cases)} cases "
           f"placed), platforms {', '.join(cov.platforms)}", ""]
    if not cov.branches:
        out += ["no branch: the path models name no decision at this revision", ""]
    for b in cov.branches:
        flags = [b.stage] + (["platform-dependent"] if b.platform_dependent else []) + (
            [f"unpublished: {b.bound}"] if not b.published else [])
        out.append(f"{b.id} [{'; '.join(flags)}] {b.source}")
        out.append(f"  decides: {b.decision}")
        for s in b.sides:
            out.append(f"  {s.name}: {_reached(s, cov.platforms)}")
            out.append(f"    when {s.condition}")
    by_side: dict = {}  # (branch, side, reason) -> the platforms it is unreached on
    for u in cov.unreached():
        by_side.setdefault((u.branch, u.side, u.reason), []).append(u.platform)
    if by_side:
        out.append(f"sides no case reaches ({len(by_side)}):")
    elif cov.branches:
        out.append("every side is reached on every platform")
    for (branch, side, reason), platforms in by_side.items():
        out.append(f"  {branch} / {side} on {', '.join(platforms)}: {reason}")
    stated = [(b.id, s.name, s.reason) for b, s in cov.sides()
              if any(s.reached.get(p) and s.reason_on(p) != NO_REASON for p in cov.platforms)]
    if stated:  # informational: a hardware-only side a shape-only case reaches, or a reason gone stale
        out.append(f"sides reached although their model states why none would be ({len(stated)}):")
        out += [f"  {branch} / {side}: {reason}" for branch, side, reason in stated]
    missing = len(cov.without_reason())
    out += ["", cov.totals_line() + (f"; {missing} unreached without a stated reason" if missing else "")]
    return out


def write_designed_cases() -> int:
    """Design the path cases anew from the models and freeze them (casegen/path_design.py)."""
    from .. import casegen
    from ..casegen import path_design
    cases = path_design.design(casegen.catalogue_without_path_cases())
    print(f"{len(cases)} path-designed cases, estimated {sum(map(path_design.sim_cost, cases)):.0f} s on the "
          f"simulator -> {path_design.write(cases)}")
    return 0


def cmd_paths(a) -> int:
    from .. import casegen, path_coverage
    from ..sim.cann import revisions
    from ..sim.cann.paths import UnknownPlatform
    if a.write_cases:
        return write_designed_cases()
    ctx = context_of(a)
    try:
        revision = revisions.get(a.revision).name
    except revisions.UnknownRevision as exc:
        raise CliError(f"--revision: {exc}") from None
    try:
        platforms = [p.name for p in path_coverage.platforms_named(a.platform)] if a.platform else None
    except UnknownPlatform as exc:
        raise CliError(f"--platform: {exc}") from None
    cases = casegen.select(profile=ctx.profile, world_sizes=ctx.world_sizes)
    cov = path_coverage.coverage(cases, revision=revision, platforms=platforms)
    if a.json:
        print(json.dumps({"profile": ctx.profile, "world_sizes": list(ctx.world_sizes), **cov.to_dict(ids=True)},
                         indent=1))
    else:
        for line in lines(cov, profile=ctx.profile):
            print(line)
    return 1 if cov.without_reason() else 0


def register(sub) -> None:
    p = sub.add_parser("paths", help="which implementation paths a profile's cases reach, per platform; exit 1 "
                                     "where a side is unreached without a stated reason",
                       description=__doc__)
    add_suite_options(p, only=("--profile", "--world-sizes"))
    p.add_argument("--revision", "--sim-cann-revision", dest="revision", default=None,
                   help="the source revision the decisions are taken at (default: the newest modelled); "
                        "`source-drift --list` lists them")
    p.add_argument("--platform", action="append", default=None, metavar="NAME",
                   help="only this platform (repeatable; default: every modelled one, a2-24c and a2-20c)")
    p.add_argument("--json", action="store_true", help="print the coverage as JSON, every case id of every side")
    p.add_argument("--write-cases", action="store_true",
                   help="design the path cases anew (the cheapest case per side the other signoff cases leave "
                        "unreached) and freeze them to conformance/data/path_cases.json")
    p.set_defaults(func=cmd_paths)
