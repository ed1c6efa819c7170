"""`mc2-conformance diff`: what changed between two run folders."""

from __future__ import annotations

import argparse


def cmd_diff(a) -> int:
    from ..reporting import diff
    fail_on = diff.parse_gate(a.fail_on)
    d = diff.compare(a.old, a.new, alpha=a.alpha, min_group=a.min_group, accuracy_threshold=a.accuracy_threshold,
                     perf_threshold=a.perf_threshold, perf_min_seconds=a.perf_min_seconds)
    status = diff.gate(d, fail_on)
    if a.out:
        paths = diff.write(d, a.out, fail_on)
        warning = diff.not_hardware_warning(d)
        print(f"mc2-conformance diff: {diff.headline(d, fail_on)}{f' ({warning})' if warning else ''}\n"
              f"  page: {paths['html']}\n  markdown: {paths['md']}\n  json: {paths['json']}")
    else:
        from ..reporting.page import render_markdown
        print(render_markdown(diff.build_page(d, fail_on)), end="")
    return status


def register(sub) -> None:
    from ..reporting import diff as _diff
    p = sub.add_parser("diff", help="what changed between two run folders; exit 1 where a gated category changed",
                       description=_diff.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old", help="the baseline run folder (e.g. the previous CANN version's)")
    p.add_argument("new", help="the run folder to compare with it")
    p.add_argument("--out", help="write diff.md, diff.html and diff.json here (default: Markdown on stdout)")
    p.add_argument("--fail-on", default="status",
                   help=f"comma-separated categories that make the exit status 1: {', '.join(_diff.CATEGORIES)} "
                        f"or all (default status)")
    p.add_argument("--alpha", type=float, default=_diff.DEFAULT_ALPHA,
                   help=f"significance level of the accuracy drift test (default {_diff.DEFAULT_ALPHA})")
    p.add_argument("--min-group", type=int, default=_diff.DEFAULT_MIN_GROUP,
                   help="fewest tests per run an (op, dtype) group needs to be tested"
                        f" (default {_diff.DEFAULT_MIN_GROUP})")
    p.add_argument("--accuracy-threshold", type=float, default=_diff.DEFAULT_ACCURACY_THRESHOLD,
                   help="per test, with identical inputs: report |new - old| error/bound ratio > this x max(old, "
                        f"{_diff.ACCURACY_FLOOR}) (default {_diff.DEFAULT_ACCURACY_THRESHOLD})")
    p.add_argument("--perf-threshold", type=float, default=_diff.DEFAULT_PERF_THRESHOLD,
                   help=f"report a group whose median seconds ratio is >= this or <= its inverse "
                        f"(default {_diff.DEFAULT_PERF_THRESHOLD})")
    p.add_argument("--perf-min-seconds", type=float, default=_diff.DEFAULT_PERF_MIN_SECONDS,
                   help=f"compare the time of tests taking at least this long in both runs "
                        f"(default {_diff.DEFAULT_PERF_MIN_SECONDS})")
    p.set_defaults(func=cmd_diff)
