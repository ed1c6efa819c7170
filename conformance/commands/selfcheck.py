"""`mc2-conformance selfcheck`: score the suite (the clean simulator must pass, every named fault must be
caught)."""

from __future__ import annotations

import os
from pathlib import Path

from .common import DEFAULT_SELFCHECK_DIR, add_cases_option, add_suite_options, cases_dir, context_of


def cmd_selfcheck(a) -> int:
    from .. import selfcheck
    c = context_of(a)
    result = selfcheck.run(cases_dir=cases_dir(a), profile=c.profile, world_sizes=",".join(map(str, c.world_sizes)),
                           seed=c.seed, workers=a.workers, faults=a.faults, out=Path(a.out))
    print()
    print(selfcheck.to_markdown(result))
    print(f"selfcheck: written to {Path(a.out) / 'selfcheck.json'} and selfcheck.md")
    return 0 if result["clean"]["passed"] and result["killed"] == result["total"] else 1


def register(sub) -> None:
    p = sub.add_parser("selfcheck", help="score the suite: clean simulator must pass, every fault must be killed")
    add_suite_options(p, only=("--profile", "--world-sizes", "--seed"))
    p.add_argument("-n", "--workers", type=int, default=os.cpu_count() or 1,
                   help="xdist workers of the clean run, and faulted runs side by side (default: the CPU count)")
    p.add_argument("--faults", default="*", help="comma-separated fault names or glob patterns (default all)")
    p.add_argument("--out", default=DEFAULT_SELFCHECK_DIR,
                   help=f"folder for selfcheck.json and selfcheck.md (default {DEFAULT_SELFCHECK_DIR})")
    add_cases_option(p)
    p.set_defaults(func=cmd_selfcheck)
