"""`mc2-conformance`: the release engineer's entry point.

  run          a sign-off run through pytest (progress on the console), then summary.md / .html / .json
  report       the verdict page (+ Allure HTML) from one or more run folders, merged (one per hardware node)
  constraints  the constraint catalogue with the tests covering each constraint (--json for machines)
  deviations   where the published CANN source contradicts the documents (--waivers: as a waiver file)
  golden       check the frozen golden data, or --regenerate it on purpose
  repro        rerun one case by id, without pytest, and print every check
  selfcheck    score the suite: the clean simulator must pass, every named fault must be caught
  fuzz         property-based fuzzing of the valid and invalid input spaces; replay or export a failure
  faults       list the simulator's named faults
  diff         what changed between two run folders (status, bits, accuracy drift, performance, environment)
  perf         fused operator against its chain of separate operators: latency, speedup, bus bandwidth

`run` translates its options to the pytest plugin's (--backend -> --mc2-backend, --seed -> --mc2-seed, ...);
`mc2-conformance COMMAND --help` lists a command's options.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .casegen.model import PROFILES
from .options import SIM_FLAGS, SUITE_OPTIONS, sim_flag_args, sim_options_from, suite_option_args


def _sim_options(a) -> dict:
    return sim_options_from(lambda flag: getattr(a, flag.lstrip("-").replace("-", "_"), None))


DEFAULT_SELFCHECK_DIR = "results/selfcheck"


class CliError(Exception):
    pass


def cases_dir() -> Path:
    for candidate in (Path(__file__).resolve().parent.parent / "cases", Path.cwd() / "cases"):
        if (candidate / "test_marn.py").exists():
            return candidate
    raise CliError("cannot find the suite's cases/ folder: run from a checkout of the suite "
                   "(pip install -e .) or from its top folder")


def _suite_args(a) -> list[str]:
    """The pytest plugin's options (--mc2-...) for this command line's (--backend, --profile, ...)."""
    return suite_option_args(a) + sim_flag_args(_sim_options(a))


def _check_backend(a) -> None:
    """Load (and close) the backend once before pytest starts: a missing library or package is one line and
    exit status 2 (BackendError), not a run that fails every test."""
    from .backends import load_backend
    backend = load_backend(a.backend, faults=a.fault or (), sim_options=_sim_options(a))
    close = getattr(backend, "close", None)
    if callable(close):
        close()


def _workers_hint(workers: int) -> str | None:
    cpus = os.cpu_count() or 1
    if workers > cpus:
        return (f"mc2-conformance: hint: -n {workers} is more than this machine's {cpus} CPUs; the cases are "
                f"CPU-bound, so the run is slower than with -n {cpus} (the default)")
    return None


def _pytest(args: list[str], **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], env=env, **kw)


def _replay_settings(a, out: Path) -> list[str]:
    """--replay DIR: the recorded run's profile, world sizes, seed (and judging options not given here) and its
    case ids (written to OUT/replay-case-ids.txt for --mc2-case-ids); the extra pytest arguments."""
    from .reporting import diff
    src = Path(a.replay).resolve()
    run, _ = diff.load(src)
    if not run:
        raise CliError(f"--replay {a.replay}: its results.jsonl has no run entry")
    a.profile = run.get("profile") or a.profile
    a.world_sizes = ",".join(map(str, run.get("world_sizes") or [])) or a.world_sizes
    a.seed = int(run.get("seed", a.seed))
    if not a.status_check and run.get("status_check"):
        a.status_check = run["status_check"]
    if not a.accumulation_bound and run.get("accumulation"):
        a.accumulation_bound = run["accumulation"]
    if not a.doc_revision and run.get("doc_revision") and not str(run["doc_revision"]).startswith("shared"):
        a.doc_revision = run["doc_revision"]
    ids = diff.case_ids(src)
    path = out / "replay-case-ids.txt"
    path.write_text("".join(f"{i}\n" for i in ids))
    print(f"mc2-conformance: replaying {len(ids)} cases of {src} (profile {a.profile}, world sizes "
          f"{a.world_sizes}, seed {a.seed})", flush=True)
    return ["--mc2-case-ids", str(path)]


def _baseline_diff(a, out: Path, s: dict, results: Path) -> None:
    """--baseline DIR (or --replay DIR): diff.md / .html / .json next to the summary, and a section on it."""
    from .reporting import diff
    from .reporting.page import build_page, render_html, render_markdown
    from .reporting.summary import read_results
    baseline = Path(a.baseline or a.replay).resolve()
    d = diff.compare(baseline, out)
    paths = diff.write(d, out)
    s["diff"] = diff.summary_entry(d)
    run, _ = read_results(results)
    page = build_page(run, s)  # the verdict page again, now with its diff section
    (out / "summary.md").write_text(render_markdown(page))
    (out / "summary.html").write_text(render_html(page))
    print(f"mc2-conformance: against the baseline {baseline}: {diff.headline(d)}\n  diff: {paths['html']}")


def cmd_run(a) -> int:
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
    _check_backend(a)
    args = [str(cases_dir()), *_suite_args(a), "--mc2-results", str(results),
            "--junitxml", str(out / "junit.xml"), "--alluredir", str(allure_dir), "-q", "-rfE", *extra]
    if a.workers and a.workers > 1:
        args += ["-n", str(a.workers)]
        hint = _workers_hint(a.workers)
        if hint:
            print(hint, flush=True)
    print(f"mc2-conformance: {a.profile} run on backend {a.backend}, results in {out}", flush=True)
    proc = _pytest(args + list(a.pytest_args or []))
    if proc.returncode == 4:  # pytest's usage error: its one line (ERROR: ...) is already on stderr
        return 2
    if proc.returncode not in (0, 1) or not results.exists():
        print(f"mc2-conformance: pytest stopped with exit status {proc.returncode}; no summary written",
              file=sys.stderr)
        return proc.returncode or 2
    from .reporting import write_summary
    allure_line = allure_html([out], out)  # first: the verdict page links the Allure report only if it was built
    s = write_summary(results, out, Path(a.selfcheck) / "selfcheck.json" if a.selfcheck else None,
                      allure_built=_allure_built(allure_line, out))
    print(allure_line)
    c = s["counts"]
    print(f"mc2-conformance: verdict {s['verdict']} ({c.get('passed', 0)} passed, {c.get('failed', 0)} failed, "
          f"{c.get('waived', 0)} waived, {c.get('skipped', 0)} skipped)\n  report: {out / 'summary.html'}\n"
          f"  markdown: {out / 'summary.md'}\n  allure results: {allure_dir}\n  junit: {out / 'junit.xml'}")
    for line in s["waiver_findings"]:
        print(f"  {line}")
    _print_reasons(s)
    if a.baseline or a.replay:
        _baseline_diff(a, out, s, results)
    return 0 if s["verdict"].startswith("PASS") else 1


def cmd_diff(a) -> int:
    from .reporting import diff
    fail_on = diff.parse_gate(a.fail_on)
    d = diff.compare(a.old, a.new, alpha=a.alpha, min_group=a.min_group, accuracy_threshold=a.accuracy_threshold,
                     perf_threshold=a.perf_threshold, perf_min_seconds=a.perf_min_seconds)
    status = diff.gate(d, fail_on)
    if a.out:
        paths = diff.write(d, a.out, fail_on)
        print(f"mc2-conformance diff: {diff.headline(d, fail_on)}\n  page: {paths['html']}\n  markdown: "
              f"{paths['md']}\n  json: {paths['json']}")
    else:
        from .reporting.page import render_markdown
        print(render_markdown(diff.build_page(d, fail_on)), end="")
    return status


def _print_reasons(s: dict) -> None:
    if not s["verdict"].startswith("PASS"):
        for reason in s.get("verdict_reasons", []):
            print(f"  why: {reason}")


def allure_html(result_dirs: list[Path], out: Path) -> str:
    """Build the Allure 3 HTML report with the npm package `allure` (Node only, no Java); one line either way."""
    npx = shutil.which("npx")
    if npx is None:
        return "allure report: skipped: Node.js (npx) not found; install Node, then `npm install -g allure@3`"
    probe = subprocess.run([npx, "--no-install", "allure", "--version"], capture_output=True, text=True)
    if probe.returncode != 0:
        return "allure report: skipped: the npm package 'allure' is not installed (`npm install -g allure@3`)"
    sources = [str(d / "allure-results") for d in result_dirs if (d / "allure-results").is_dir()]
    proc = subprocess.run([npx, "--no-install", "allure", "generate", *sources, "-o", str(out / "allure-report")],
                          capture_output=True, text=True, cwd=result_dirs[0])  # cwd: its allurerc.mjs (categories)
    if proc.returncode != 0:
        return f"allure report: failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"
    return f"allure report: {out / 'allure-report' / 'index.html'}"


def _allure_built(line: str, out: Path) -> bool:
    """allure_html's line says it built the report now (not skipped or failed, leaving an old one behind)."""
    index = out / "allure-report" / "index.html"
    return line == f"allure report: {index}" and index.exists()


def cmd_report(a) -> int:
    from .reporting import write_summary
    dirs = [Path(d) for d in a.results]
    missing = [str(d) for d in dirs if not (d / "results.jsonl").exists()]
    if missing:
        raise CliError(f"no results.jsonl in {', '.join(missing)} (a folder written by `mc2-conformance run`)")
    out = Path(a.out) if a.out else dirs[0]
    out.mkdir(parents=True, exist_ok=True)
    allure_line = allure_html(dirs, out)
    s = write_summary([d / "results.jsonl" for d in dirs], out,
                      Path(a.selfcheck) / "selfcheck.json" if a.selfcheck else None,
                      allure_built=_allure_built(allure_line, out))
    print(allure_line)
    print(f"mc2-conformance report: verdict {s['verdict']} over {len(dirs)} node(s)\n  verdict page: "
          f"{out / 'summary.html'}\n  markdown: {out / 'summary.md'}\n  json: {out / 'summary.json'}")
    _print_reasons(s)
    return 0 if s["verdict"].startswith("PASS") else 1


def coverage(profile: str, world_sizes: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coverage.json"
        proc = _pytest([str(cases_dir()), "--collect-only", "-q", "--mc2-profile", profile, "--mc2-world-sizes",
                        world_sizes, "--mc2-coverage", str(path)], capture_output=True, text=True)
        if not path.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise CliError("collecting the cases failed: " + " | ".join(tail))
        return json.loads(path.read_text())


def cmd_deviations(a) -> int:
    from .spec import deviations
    if a.waivers:
        print(deviations.waiver_toml(), end="")
        return 0
    for line in deviations.listing():
        print(line)
    print(f"\n{len(deviations.DEVIATIONS)} deviations of the published source (hicann/ops-transformer@c29bc10) from "
          f"the documents; waive them with --waivers waivers/cann-source-deviations.toml")
    return 0


def cmd_constraints(a) -> int:
    from . import selfcheck
    if a.doc_drift:
        from .spec.revisions import drift_lines
        for line in drift_lines():
            print(line)
        return 0
    from .sim.faults import FAULTS
    from .spec import AMBIGUITIES, CONSTRAINTS
    cov = coverage(a.profile, a.world_sizes)["coverage"]
    sc = selfcheck.load(Path(a.selfcheck) / "selfcheck.json") if a.selfcheck else None
    killed = {r["fault"]: r["killed"] for r in (sc or {}).get("faults", [])}
    faults_of = {}
    for f in FAULTS.values():
        for cid in f.violates:
            faults_of.setdefault(cid, []).append(f.name)
    rows = []
    for c in CONSTRAINTS:
        rows.append({"id": c.id, "ops": list(c.ops), "kind": c.kind, "expected_status": c.expected_status,
                     "code_source": c.code_source, "original": c.original, "paraphrase": c.paraphrase,
                     "constrains": list(c.constrains), "source": c.source, "notes": c.notes,
                     "phase": c.phase, "revision": c.revision,
                     "tests": cov.get(c.id, []), "faults": faults_of.get(c.id, []),
                     "faults_killed": {f: killed.get(f) for f in faults_of.get(c.id, [])}})
    uncovered = [r["id"] for r in rows if not r["tests"]]
    if a.json:
        print(json.dumps({"profile": a.profile, "constraints": rows, "uncovered": uncovered,
                          "ambiguities": [vars(x) for x in AMBIGUITIES]}, indent=1, ensure_ascii=False))
        return 0
    print("status: the code a document promises; (code) = the aclnn convention's, enforced only with "
          "--status-check convention (by default any rejection passes there and its code is recorded)")
    print(f"{'constraint':<17}{'kind':<8}{'status':<9}{'code from':<11}{'tests':>6}{'faults':>7}{'killed':>7}  promise")
    for r in rows:
        status = ("-" if r["expected_status"] is None else str(r["expected_status"])
                  if r["code_source"] == "document" else f"({r['expected_status']})")
        source = r["code_source"] if r["expected_status"] is not None else "-"
        kills = [v for v in r["faults_killed"].values() if v is not None]
        proven = f"{sum(kills)}/{len(r['faults'])}" if kills else "?"
        print(f"{r['id']:<17}{r['kind']:<8}{status:<9}{source:<11}{len(r['tests']):>6}"
              f"{len(r['faults']):>7}{proven:>7}  {r['paraphrase']}")
        if a.verbose:
            print(f"{'':17}original: {r['original']}")
            for t in r["tests"][:5]:
                print(f"{'':17}test: {t}")
            for f, k in r["faults_killed"].items():
                print(f"{'':17}fault: {f} ({'killed' if k else 'SURVIVED' if k is False else 'not self-checked'})")
    print(f"\n{len(rows)} constraints, profile {a.profile}: "
          + (f"UNCOVERED (no test): {', '.join(uncovered)}" if uncovered else "every constraint is covered"))
    if sc:
        print(f"self-check ({Path(a.selfcheck) / 'selfcheck.json'}): {sc['killed']}/{sc['total']} faults killed, "
              f"clean simulator {'passes' if sc['clean']['passed'] else 'FAILS'}; 'killed' = faults proven caught")
    else:
        print("'killed' shows '?' until `mc2-conformance selfcheck` has written its results (--selfcheck DIR)")
    print("\nAmbiguities and contradictions in the documents (the suite's choice):")
    for x in AMBIGUITIES:
        print(f"  {x.id}: {x.statement}\n  {'':{len(x.id)}}  choice: {x.choice}"
              + (f" [option: {x.option}]" if x.option else ""))
    from .spec.deviations import listing
    print("\nWhere the published implementation contradicts the documents (mc2-conformance deviations):")
    for line in listing():
        print(f"  {line}")
    return 0


def cmd_golden(a) -> int:
    from . import golden
    from . import casegen
    from .casegen.inputs import materialise
    directory = Path(a.dir) if a.dir else golden.DEFAULT_DIR
    if a.regenerate:
        m = golden.regenerate(directory)
        print(f"golden: wrote {len(m['cases'])} cases to {directory} (generator {m['generator_version']})")
        return 0
    cases = golden.load_manifest(directory)
    for cid in cases:
        golden.expected_outputs(cid, materialise(casegen.by_id(cid), golden.GOLDEN_SEED), directory)
    print(f"golden: {len(cases)} cases intact and current in {directory}")
    return 0


def cmd_repro(a) -> int:
    from . import casegen
    from .backends import load_backend
    from .judge import run_case
    try:
        case = casegen.by_id(a.case_id)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    backend = load_backend(a.backend, faults=a.fault or (),
                           sim_options=_sim_options(a))
    from .spec import constraints_for
    outcome = run_case(case, backend, seed=a.seed, accumulation=a.accumulation_bound or "probabilistic",
                       status_check=a.status_check or "documented", constraints=constraints_for(a.doc_revision))
    print(f"{case.id}: {outcome.category} ({outcome.seconds:.2f} s)")
    print(f"  expected: {outcome.expected}")
    if outcome.observed:
        print("  observed: " + ", ".join(f"rank {r} status {s}{' from ' + p if p else ''}"
                                         for r, (s, p) in enumerate(outcome.observed)))
    from .spec.deviations import deviations_of
    for d in deviations_of(case.id):
        print(f"  known deviation {d.id} of the published source: {d.behaviour}")
    if outcome.detail:
        print(f"  {outcome.detail}")
    for c in outcome.checks:
        print(f"  [{'ok' if c.passed else 'FAIL'}] {c.message}")
    return 0 if outcome.passed else 1


def cmd_selfcheck(a) -> int:
    from . import selfcheck
    result = selfcheck.run(cases_dir=cases_dir(), profile=a.profile, world_sizes=a.world_sizes, seed=a.seed,
                           workers=a.workers, faults=a.faults, out=Path(a.out))
    print()
    print(selfcheck.to_markdown(result))
    print(f"selfcheck: written to {Path(a.out) / 'selfcheck.json'} and selfcheck.md")
    return 0 if result["clean"]["passed"] and result["killed"] == result["total"] else 1


def cmd_perf(a) -> int:
    from . import perf
    from .backends import load_backend
    try:
        world_sizes = tuple(int(w) for w in a.world_sizes.split(",") if w.strip())
    except ValueError:
        raise CliError(f"--world-sizes {a.world_sizes!r}: expected integers like 2,4,8") from None
    pool = perf.QUICK_SHAPES if a.quick else perf.SHAPES
    shapes = pool
    if a.shapes:
        by_name = {s.name: s for s in perf.SHAPES + perf.QUICK_SHAPES}
        unknown = [n for n in a.shapes.split(",") if n not in by_name]
        if unknown:
            raise CliError(f"--shapes: unknown shape {unknown[0]!r}; known: {', '.join(by_name)}")
        shapes = tuple(by_name[n] for n in a.shapes.split(","))
    over = {k: v for k, v in (("warmup", a.warmup), ("min_iterations", a.min_iterations),
                              ("max_iterations", a.max_iterations), ("target", a.target)) if v is not None}
    common = dict(world_sizes=world_sizes, shapes=shapes, dtype=a.dtype, seed=a.seed, threshold=a.threshold, **over)
    settings = perf.quick_settings(**common) if a.quick else perf.PerfSettings(**common)
    backend = load_backend(a.backend, faults=a.fault or (), sim_options=_sim_options(a))
    try:
        result = perf.run(backend, settings)
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
    out = Path(a.out or f"results/perf-{time.strftime('%Y%m%d-%H%M%S')}")
    perf.write(result, out)
    if result.get("plot_note"):
        print(result["plot_note"])
    print(f"perf: {'PASS' if result['passed'] else 'FAIL'} "
          f"({', '.join(f'{k} {v}' for k, v in result['summary'].items()) or 'nothing timed'}); "
          f"written to {out / 'perf.json'}, perf.md and perf.png")
    return 0 if result["passed"] else 1


def cmd_fuzz(a) -> int:
    from .backends import load_backend
    from .casegen import serial
    from .fuzz import runner
    from .judge import run_case
    backend = load_backend(a.backend, faults=a.fault or (),
                           sim_options=_sim_options(a))
    from .fuzz import differential
    out = Path(a.out)
    if a.against and a.baseline:
        print("mc2-conformance fuzz: --against and --baseline are two reference sides: give one", file=sys.stderr)
        return 2
    if a.against_fault and not a.against:
        print("mc2-conformance fuzz: --against-fault needs --against", file=sys.stderr)
        return 2
    reference = None
    if a.against:
        reference = differential.LiveReference(
            load_backend(a.against, faults=a.against_fault or (), sim_options=_sim_options(a)),
            label=a.against + "".join(f" +{f}" for f in a.against_fault or ()))
    elif a.baseline:
        try:
            reference = differential.BaselineReference(a.baseline)
        except ValueError as exc:
            print(f"mc2-conformance fuzz: --baseline: {exc}", file=sys.stderr)
            return 2
        print(f"fuzz: baseline {a.baseline}: {len(reference.pool)} recorded catalogue cases drawable; a case is "
              f"compared only where its live inputs hash to the recorded inputs_sha256"
              + (f" ({len(reference.not_in_catalogue)} recorded ids not in the catalogue are left out)"
                 if reference.not_in_catalogue else ""))
    if a.replay:
        case = runner.load_failure(Path(a.replay))
        outcome = run_case(case, backend, seed=0)
        print(outcome.report())
        if reference is None:
            return 0 if outcome.passed else 1
        ref = reference.behaviour(case, 0, accumulation="probabilistic", inputs_sha256=outcome.inputs_sha256)
        if ref is None:
            print(f"fuzz: {reference.label} cannot be compared on {case.id}")
            return 2
        diffs = differential.differences(ref, differential.Behaviour.of(outcome))
        print(differential.describe(diffs) if diffs else f"fuzz: no difference from {reference.label}")
        return 1 if diffs else 0
    budget = None if a.time else a.budget
    result = runner.fuzz(backend, space=a.space, budget=budget, seconds=a.time, seed=a.seed, db=Path(a.db),
                         shrink_seconds=a.shrink_time, progress=print, reference=reference)
    print(f"fuzz: {result.examples} examples in {result.seconds:.1f} s ({result.rate:.1f} examples/s), "
          f"space {'baseline cases' if a.baseline else a.space}, backend {a.backend}"
          + (f", faults {','.join(a.fault)}" if a.fault else "")
          + (f"; against {reference.label}: {result.compared} compared, {result.skipped} not comparable"
             if reference else ""))
    if result.failure is None:
        print("fuzz: no difference found" if reference else "fuzz: no failure found")
        return 0
    path = runner.save_failure(result, out / "failure.json")
    args = f"--backend {a.backend}" + "".join(f" --fault {f}" for f in a.fault or [])
    if a.against:
        args += f" --against {a.against}" + "".join(f" --against-fault {f}" for f in a.against_fault or [])
    elif a.baseline:
        args += f" --baseline {a.baseline}"
    what = f"case differing in {result.difference}" if reference else "failing case"
    print(f"fuzz: minimal {what} {result.failure.id} (inputs seed {result.failure.fixed_seed})\n"
          f"{result.report}\n  saved: {path}\n  repro: mc2-conformance fuzz --replay {path} {args}")
    if a.export:
        target = serial.add_regression(result.failure)
        print(f"fuzz: exported to {target}; it now runs as cases/test_regressions.py::test_regression"
              f"[{result.failure.id}] (repro: mc2-conformance repro {result.failure.id} {args})")
    return 1


def cmd_faults(a) -> int:
    from .sim.faults import FAULTS
    for f in FAULTS.values():
        print(f"{f.name:<34} {','.join(f.violates):<40} {f.description}")
    print(f"{'rank-hangs:<r>':<34} {'(engine; sim-process only)':<40} rank r never joins the all-reduce: the test "
          f"must fail as timeout")
    print(f"{'rank-dies:<r>':<34} {'(engine; sim-process only)':<40} rank r SIGKILLs itself before the all-reduce: "
          f"the test must fail as crash")
    return 0


RUN_ONLY = ("--waivers", "--cann-version", "--precision-standard")  # judging options only `run` passes on


def _add_suite_options(p, *, profile=True, run=False):
    """The suite options of options.SUITE_OPTIONS (one definition with the pytest plugin's): the case-selecting
    ones with `profile`, the judging ones only `run` passes to pytest with `run`; then the simulator's flags."""
    for o in SUITE_OPTIONS:
        if not ((o.selects and not profile) or (o.flag in RUN_ONLY and not run)):
            _add_suite_option(p, o)
    for f in SIM_FLAGS:
        p.add_argument(f.flag, choices=f.choices, help=f"{f.help} (default {f.default})")


def _add_suite_option(p, o) -> None:
    kw = {"choices": o.choices, "help": o.help}
    if o.repeat:
        kw["action"] = "append"
    elif o.flag == "--backend":
        kw["default"] = os.environ.get("MC2_BACKEND", "sim")
    elif o.flag == "--seed":
        kw.update(type=int, default=int(o.default))
    elif o.selects:
        kw["default"] = o.default
    p.add_argument(o.flag, **kw)  # others default to None: unset, the plugin's default applies


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(prog="mc2-conformance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the suite's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("run", help="sign-off run: pytest + summary report")
    _add_suite_options(p, run=True)
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
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("report", help="verdict page (+ Allure HTML) from one or more run folders, merged")
    p.add_argument("results", nargs="+", help="folders written by `mc2-conformance run` (one per hardware node)")
    p.add_argument("--out", help="output folder (default: the first results folder)")
    p.add_argument("--selfcheck", default=DEFAULT_SELFCHECK_DIR,
                   help="folder of a selfcheck run whose score the verdict page quotes (if present)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("constraints", help="the constraint catalogue and its coverage")
    p.add_argument("--json", action="store_true", help="print the catalogue as JSON (for machines)")
    p.add_argument("-v", "--verbose", action="store_true", help="show original sentences and covering tests")
    p.add_argument("--profile", default="signoff", choices=PROFILES,
                   help="profile whose tests count as coverage (default signoff)")
    p.add_argument("--world-sizes", default="1,2,4,8", help="world sizes whose tests count (default 1,2,4,8)")
    p.add_argument("--selfcheck", default=DEFAULT_SELFCHECK_DIR, help="folder of a selfcheck run to show kills from")
    p.add_argument("--doc-drift", action="store_true",
                   help="list what changed in the newer revisions of the documents (for --doc-revision)")
    p.set_defaults(func=cmd_constraints)
    p = sub.add_parser("deviations", help="where the published CANN source contradicts the documents")
    p.add_argument("--waivers", action="store_true", help="print them as a waiver file (TOML)")
    p.set_defaults(func=cmd_deviations)
    p = sub.add_parser("golden", help="check or regenerate the golden data (conformance/data/golden/)")
    p.add_argument("--regenerate", action="store_true",
                   help="rewrite the golden data from the current reference (on purpose only)")
    p.add_argument("--dir", help="golden data folder (default: the package's conformance/data/golden/)")
    p.set_defaults(func=cmd_golden)
    p = sub.add_parser("repro", help="rerun one case by id and print every check")
    p.add_argument("case_id", help="a case id, as in a test id's brackets or `constraints -v`")
    _add_suite_options(p, profile=False)
    p.set_defaults(func=cmd_repro)
    p = sub.add_parser("selfcheck", help="score the suite: clean simulator must pass, every fault must be killed")
    for o in SUITE_OPTIONS:
        if o.flag in ("--profile", "--world-sizes", "--seed"):
            _add_suite_option(p, o)
    p.add_argument("-n", "--workers", type=int, default=os.cpu_count() or 1,
                   help="xdist workers of the clean run, and faulted runs side by side (default: the CPU count)")
    p.add_argument("--faults", default="*", help="comma-separated fault names or glob patterns (default all)")
    p.add_argument("--out", default=DEFAULT_SELFCHECK_DIR,
                   help=f"folder for selfcheck.json and selfcheck.md (default {DEFAULT_SELFCHECK_DIR})")
    p.set_defaults(func=cmd_selfcheck)
    p = sub.add_parser("fuzz", help="property-based fuzzing of the valid and invalid input spaces")
    _add_suite_options(p, profile=False)
    p.add_argument("--space", default="all", choices=("all", "marn", "v3", "invalid"),
                   help="input space to draw from (default all)")
    p.add_argument("--budget", type=int, default=200, help="number of examples (default 200)")
    p.add_argument("--time", type=float, help="fuzz for this many seconds instead of a fixed budget")
    p.add_argument("--shrink-time", type=float, default=20.0, help="seconds allowed for shrinking a failure")
    p.add_argument("--db", default=".hypothesis/mc2-fuzz", help="example database folder (kept across runs)")
    p.add_argument("--out", default="results/fuzz", help="folder for failure.json (default results/fuzz)")
    p.add_argument("--export", action="store_true",
                   help="freeze the minimal failure into conformance/data/regressions.json")
    p.add_argument("--replay", help="rerun a saved failure.json instead of fuzzing")
    p.add_argument("--against", metavar="BACKEND",
                   help="differential fuzzing: run every drawn case on this reference backend too and report ANY "
                        "behavioural difference (status, phase, category, output bits), not contract failures")
    p.add_argument("--against-fault", action="append", default=[], metavar="FAULT",
                   help="simulator fault of the --against side (repeatable)")
    p.add_argument("--baseline", metavar="RUN_DIR",
                   help="differential fuzzing against a run folder of `mc2-conformance run`: draws the recorded "
                        "catalogue cases at their recorded seeds, compares only where the inputs hash matches")
    p.set_defaults(func=cmd_fuzz)
    p = sub.add_parser("perf", help="fused operator against its chain: latency, speedup, bus bandwidth")
    p.add_argument("--backend", default="sim", help="backend (sim, sim-process, aclnn, torch-npu, module:attr)")
    p.add_argument("--fault", action="append", help="simulator fault (repeatable)")
    for f in SIM_FLAGS:
        p.add_argument(f.flag, choices=f.choices, help=f"{f.help} (default {f.default})")
    p.add_argument("--world-sizes", default="2,4,8", help="comma-separated world sizes (default 2,4,8)")
    p.add_argument("--shapes", help="comma-separated layer shapes (default: mindspeed,half,small,tiny; with --quick "
                                    "q-small,q-medium,q-large)")
    p.add_argument("--dtype", default="float16", choices=("float16", "bfloat16"), help="MARN dtype (default float16)")
    p.add_argument("--seed", type=int, default=0, help="run seed of the inputs and the correctness gate (default 0)")
    p.add_argument("--quick", action="store_true", help="small shapes and few iterations (the simulator)")
    p.add_argument("--warmup", type=int, help="warm-up iterations (default 5; --quick 1)")
    p.add_argument("--min-iterations", type=int, help="iterations before the confidence target is tested (default 10)")
    p.add_argument("--max-iterations", type=int, help="most iterations per measurement (default 200; --quick 8)")
    p.add_argument("--target", type=float, help="relative 95%% CI half-width of the median to reach (default 0.05)")
    p.add_argument("--threshold", type=float, default=0.95,
                   help="pass: fused throughput >= THRESHOLD x chain throughput (default 0.95)")
    p.add_argument("--out", help="output folder for perf.json, perf.md, perf.png (default results/perf-<time>)")
    p.set_defaults(func=cmd_perf)
    p = sub.add_parser("faults", help="list the simulator's named faults")
    p.set_defaults(func=cmd_faults)
    from .reporting import diff as _diff
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
    return parser


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    from .backends import BackendError
    from .golden import GoldenError
    try:
        return a.func(a)
    except (CliError, BackendError, GoldenError, ValueError) as exc:
        print(f"mc2-conformance {a.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `mc2-conformance ... | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
