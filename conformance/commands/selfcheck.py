"""`mc2-conformance selfcheck`: score the suite (the clean simulator must pass, every named fault must be
caught)."""

from __future__ import annotations

import os
from pathlib import Path

from ..options import SUITE_OPTIONS
from .common import DEFAULT_SELFCHECK_DIR, add_cases_option, add_suite_option, cases_dir


def cmd_selfcheck(a) -> int:
    from .. import selfcheck
    result = selfcheck.run(cases_dir=cases_dir(a), profile=a.profile, world_sizes=a.world_sizes, seed=a.seed,
                           workers=a.workers, faults=a.faults, out=Path(a.out))
    print()
    print(selfcheck.to_markdown(result))
    print(f"selfcheck: written to {Path(a.out) / 'selfcheck.json'} and selfcheck.md")
    return 0 if result["clean"]["passed"] and result["killed"] == result["total"] else 1


def register(sub) -> None:
    p = sub.add_parser("selfcheck", help="score the suite: clean simulator must pass, every fault must be killed")
    for o in SUITE_OPTIONS:
        if o.flag in ("--profile", "--world-sizes", "--seed"):
            add_suite_option(p, o)
    p.add_argument("-n", "--workers", type=int, default=os.cpu_count() or 1,
                   help="xdist workers of the clean run, and faulted runs side by side (default: the CPU count)")
    p.add_argument("--faults", default="*", help="comma-separated fault names or glob patterns (default all)")
    p.add_argument("--out", default=DEFAULT_SELFCHECK_DIR,
                   help=f"folder for selfcheck.json and selfcheck.md (default {DEFAULT_SELFCHECK_DIR})")
    add_cases_option(p)
    p.set_defaults(func=cmd_selfcheck)
