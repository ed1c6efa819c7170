"""`mc2-conformance report`: the verdict page (+ Allure HTML) from one or more run folders, merged."""

from __future__ import annotations

from pathlib import Path

from .common import DEFAULT_SELFCHECK_DIR, CliError, allure_built, allure_html, print_reasons


def cmd_report(a) -> int:
    from ..reporting import write_summary
    dirs = [Path(d) for d in a.results]
    missing = [str(d) for d in dirs if not (d / "results.jsonl").exists()]
    if missing:
        raise CliError(f"no results.jsonl in {', '.join(missing)} (a folder written by `mc2-conformance run`)")
    out = Path(a.out) if a.out else dirs[0]
    out.mkdir(parents=True, exist_ok=True)
    allure_line = allure_html(dirs, out)
    s = write_summary([d / "results.jsonl" for d in dirs], out,
                      Path(a.selfcheck) / "selfcheck.json" if a.selfcheck else None,
                      allure_built=allure_built(allure_line, out))
    print(allure_line)
    print(f"mc2-conformance report: verdict {s.verdict} over {len(dirs)} node(s)\n  verdict page: "
          f"{out / 'summary.html'}\n  markdown: {out / 'summary.md'}\n  json: {out / 'summary.json'}")
    print_reasons(s)
    return 0 if s.verdict.startswith("PASS") else 1


def register(sub) -> None:
    p = sub.add_parser("report", help="verdict page (+ Allure HTML) from one or more run folders, merged")
    p.add_argument("results", nargs="+", help="folders written by `mc2-conformance run` (one per hardware node)")
    p.add_argument("--out", help="output folder (default: the first results folder)")
    p.add_argument("--selfcheck", default=DEFAULT_SELFCHECK_DIR,
                   help="folder of a selfcheck run whose score the verdict page quotes (if present)")
    p.set_defaults(func=cmd_report)
