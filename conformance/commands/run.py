"""`mc2-conformance run`: a sign-off run through pytest (progress on the console), then summary.md / .html /
.json; --baseline / --replay add the diff against a previous run."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from .common import (DEFAULT_SELFCHECK_DIR, CliError, add_cases_option, add_suite_options, allure_built, allure_html,
                     cases_dir, context_of, print_reasons, run_pytest)


def _suite_args(a) -> list[str]:
    """The pytest plugin's options (--mc2-...) for this command line's (--backend, --profile, ...): the judging
    context written back from the one table (the backend, seed and profile always, the others where set)."""
    return context_of(a).args(pytest=True, always=True)


def _check_backend(a) -> dict[str, str]:
    """Load (and close) the backend once before pytest starts: a missing library or package is one line and
    exit status 2 (BackendError), not a run that fails every test. With --twin the twin is built here (progress
    line), so pytest and its workers find it cached. The run's environment facts (backend_setup.environment)."""
    from .. import backend_setup
    c = context_of(a)
    twin = backend_setup.prepare_twin(c)
    backend = backend_setup.load(c, twin=twin)
    try:
        return backend_setup.environment(backend, twin)
    finally:
        backend_setup.close(backend)


def _target_words(environment: dict) -> str:
    """' on the CANN twin (CPU), not hardware' for a run whose backend does not run on hardware ('' otherwise)."""
    from ..protocol import TARGET_HARDWARE
    target = environment.get("target")
    return f" on the {target}, not hardware" if target and target != TARGET_HARDWARE else ""


def _workers_hint(workers: int) -> str | None:
    cpus = os.cpu_count() or 1
    if workers > cpus:
        return (f"mc2-conformance: hint: -n {workers} is more than this machine's {cpus} CPUs; the cases are "
                f"CPU-bound, so the run is slower than with -n {cpus} (the default)")
    return None


def _replay_settings(a, out: Path) -> list[str]:
    """--replay DIR: the recorded run's profile, world sizes, seed (and judging options not given here) and its
    case ids (written to OUT/replay-case-ids.txt for --mc2-case-ids); the extra pytest arguments."""
    from ..reporting import diff
    src = Path(a.replay).resolve()
    run, _ = diff.load(src)
    if not run:
        raise CliError(f"--replay {a.replay}: its results.jsonl has no run entry")
    a.profile = run.get("profile") or a.profile
    a.world_sizes = ",".join(map(str, run.get("world_sizes") or [])) or a.world_sizes
    a.seed = str(run["seed"]) if run.get("seed") is not None else a.seed
    if not a.status_check and run.get("status_check"):
        a.status_check = run["status_check"]
    if not a.unsupported_inputs and run.get("unsupported_inputs"):
        a.unsupported_inputs = run["unsupported_inputs"]
    if not a.accumulation_bound and run.get("accumulation"):
        a.accumulation_bound = run["accumulation"]
    if not a.doc_revision and run.get("doc_revision") and not str(run["doc_revision"]).startswith("shared"):
        a.doc_revision = run["doc_revision"]
    if not getattr(a, "hccl_deterministic", None) and run.get("hccl_deterministic") not in (None, "unset"):
        a.hccl_deterministic = run["hccl_deterministic"]
    from ..backend_setup import TWIN_REVISION_FACT
    twin_revision = (run.get("environment") or {}).get(TWIN_REVISION_FACT)
    if twin_revision and not a.twin and context_of(a).backend == run.get("backend"):  # on the twin, as recorded
        a.twin, a.twin_revision = True, a.twin_revision or twin_revision
    ids = diff.case_ids(src)
    path = out / "replay-case-ids.txt"
    path.write_text("".join(f"{i}\n" for i in ids))
    c = context_of(a)
    twin = f", on the CANN twin at revision {c.twin_revision}" if c.twin else ""
    print(f"mc2-conformance: replaying {len(ids)} cases of {src} (profile {c.profile}, world sizes "
          f"{','.join(map(str, c.world_sizes))}, seed {c.seed}{twin})", flush=True)
    return ["--mc2-case-ids", str(path)]


def _baseline_diff(a, out: Path, s, results: Path) -> None:
    """--baseline DIR (or --replay DIR): diff.md / .html / .json next to the summary, and a section on it."""
    from ..reporting import diff
    from ..reporting.page import build_page, render_html, render_markdown
    baseline = Path(a.baseline or a.replay).resolve()
    d = diff.compare(baseline, out)
    paths = diff.write(d, out)
    s.diff = diff.summary_entry(d)
    s.write_json(out / "summary.json")  # summary.json carries the diff section too
    page = build_page(s)  # the verdict page again, now with its diff section
    (out / "summary.md").write_text(render_markdown(page))
    (out / "summary.html").write_text(render_html(page))
    print(f"mc2-conformance: against the baseline {baseline}: {diff.headline(d)}\n  diff: {paths['html']}")


def cmd_run(a) -> int:
    cases = cases_dir(a)
    context_of(a)  # a bad option: one line, before anything is written
    out = Path(a.out or f"results/run-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    for name in ("baseline", "replay"):
        src = getattr(a, name, None)
        if src and Path(src).resolve() == out:
            raise CliError(f"--{name} {src} is the output folder: give the new run another --out")
        if src and not (Path(src) / "results.jsonl").exists():
            raise CliError(f"--{name} {src}: no results.jsonl there (a folder written by `mc2-conformance run`)")
    out.mkdir(parents=True, exist_ok=True)
    extra = _replay_settings(a, out) if a.replay else []
    if a.keep_outputs:
        if (out / "outputs").exists():
            shutil.rmtree(out / "outputs")
        extra += ["--mc2-keep-outputs", str(out / "outputs")]
    results = out / "results.jsonl"
    if results.exists():
        results.unlink()
    allure_dir = out / "allure-results"
    if allure_dir.exists():  # never --clean-alluredir under xdist (it races): empty it here, before the run
        shutil.rmtree(allure_dir)
    on = _target_words(_check_backend(a))
    args = [str(cases), *_suite_args(a), "--mc2-results", str(results),
            "--junitxml", str(out / "junit.xml"), "--alluredir", str(allure_dir), "-q", "-rfE", *extra]
    if a.workers and a.workers > 1:
        args += ["-n", str(a.workers)]
        hint = _workers_hint(a.workers)
        if hint:
            print(hint, flush=True)
    c = context_of(a)
    print(f"mc2-conformance: {c.profile} run on backend {c.backend}{on}, results in {out}", flush=True)
    proc = run_pytest(args + list(a.pytest_args or []))
    if proc.returncode == 4:  # pytest's usage error: its one line (ERROR: ...) is already on stderr
        return 2
    if proc.returncode not in (0, 1) or not results.exists():
        print(f"mc2-conformance: pytest stopped with exit status {proc.returncode}; no summary written",
              file=sys.stderr)
        return proc.returncode or 2
    from ..reporting import write_summary
    allure_line = allure_html([out], out)  # first: the verdict page links the Allure report only if it was built
    s = write_summary(results, out, Path(a.selfcheck) / "selfcheck.json" if a.selfcheck else None,
                      allure_built=allure_built(allure_line, out))
    print(allure_line)
    c = s.counts
    print(f"mc2-conformance: verdict {s['verdict']}{on} ({c.get('passed', 0)} passed, {c.get('failed', 0)} failed, "
          f"{c.get('waived', 0)} waived, {c.get('skipped', 0)} skipped"
          f"{', %d not run here (hardware only)' % c['not run here'] if c.get('not run here') else ''})\n"
          f"  report: {out / 'summary.html'}\n"
          f"  markdown: {out / 'summary.md'}\n  allure results: {allure_dir}\n  junit: {out / 'junit.xml'}")
    for line in s.waiver_findings:
        print(f"  {line}")
    print_reasons(s)
    if a.baseline or a.replay:
        _baseline_diff(a, out, s, results)
    return 0 if s.verdict.startswith("PASS") else 1


def register(sub) -> None:
    p = sub.add_parser("run", help="sign-off run: pytest + summary report")
    add_suite_options(p, run=True)
    p.add_argument("-n", "--workers", type=int, default=os.cpu_count() or 1,
                   help="pytest-xdist workers (default: the CPU count; more only slows the run; 0 or 1: no xdist)")
    p.add_argument("--out", help="output folder (default results/run-<time>)")
    p.add_argument("--selfcheck", default=DEFAULT_SELFCHECK_DIR,
                   help="folder of a selfcheck run whose score the summary quotes (if present)")
    p.add_argument("--keep-outputs", action="store_true",
                   help="also store the outputs of small cases (< 64 KiB per case) as .npz in OUT/outputs/ (default: "
                        "only their sha256)")
    p.add_argument("--baseline", metavar="DIR",
                   help="a previous run folder: write diff.md / diff.html / diff.json against it next to the summary "
                        "and a section on the verdict page (see `mc2-conformance diff`)")
    p.add_argument("--replay", metavar="DIR",
                   help="rerun the case ids of a previous run folder with its profile, world sizes and seed, and diff "
                        "against it (implies --baseline DIR unless given)")
    add_cases_option(p)
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")
    p.set_defaults(func=cmd_run)
