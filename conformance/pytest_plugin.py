"""pytest integration: options, the backend fixture, case parametrization, and the results log.

Loaded by the suite's own conftest.py (`pytest_plugins`), never as a global `pytest11` plugin: pytest in any
other project never sees it. Every option is spelled `--mc2-...` (the `mc2-conformance` command line spells the
same options without the prefix and translates them). The plugin acts only when the session collects the suite's
cases (a path argument inside or above cases/), or lazily when a test uses its marker or fixtures: only then is
the backend loaded (one-line usage error if it cannot be), MC2_BACKEND / MC2_RANK_DEADLINE read and the
allocator tuned (memory.keep_freed_memory). `pytest tests/...` in the repository leaves all of that alone.
The plugin is the only module that knows pytest; it turns a judged Outcome into pass / fail / skip and adds
the one-line repro command to every failure.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import tempfile
import time
from pathlib import Path

import pytest

from . import casegen
from .backends import BackendError, load_backend
from .casegen.model import PROFILES, VALID_WORLD_SIZES
from .tolerance.precision import STANDARDS as PRECISION_STANDARDS
from .hw.leasing import DeviceLeaser, LeasedBackend, LeaseError, block_size, parse_devices
from .memory import keep_freed_memory
from .reporting import allure_results
from .reporting.waivers import WaiverBook, WaiverError
from .reporting.waivers import load as load_waivers
from .options import SIM_FLAGS, SUITE_OPTIONS, sim_flag_args, sim_options_from
from .spec import constraints_for
from .spec.model import STATUS_CHECKS
from .tolerance.accumulation import ACCUMULATION_BOUNDS



CASES_DIR = Path(__file__).resolve().parent.parent / "cases"
SUITE_FIXTURES = ("mc2", "judge_case")


def pytest_addoption(parser):
    g = parser.getgroup("mc2-conformance", "MC2 operator conformance (the suite's cases/ only)")
    for o in SUITE_OPTIONS:  # defined once with the command line's (options.py)
        g.addoption(o.pytest_flag, default=[] if o.repeat else o.default, action="append" if o.repeat else "store",
                    help=o.help)
    for f in SIM_FLAGS:
        g.addoption(f.pytest_flag, default=None, help=f"{f.help}: {', '.join(f.choices)} (default {f.default})")
    g.addoption("--mc2-results", default=None, help="append one JSON line per test result to this file")
    g.addoption("--mc2-coverage", default=None, help="write the constraint coverage of collected tests here")
    g.addoption("--mc2-devices", default=None,
                help="device ids to lease per test, e.g. 0-7 or 0,1,2,3, or 'env' for ASCEND_RT_VISIBLE_DEVICES; each "
                     "test leases an aligned block for its world size (default: no leasing, for the simulator)")
    g.addoption("--mc2-lease-dir", default=None, help="folder of the lease lock files shared by all xdist workers "
                                                       "(default: <tmp>/mc2-leases-<uid>)")
    g.addoption("--mc2-fuzz-examples", default="0",
                help="the fuzz profile: run cases/test_fuzz.py with this many hypothesis examples per input space "
                     "(0, the default, leaves the fuzz tests out)")
    g.addoption("--mc2-fuzz-db", default=".hypothesis/mc2-fuzz", help="fuzz example database folder (xdist-safe)")
    g.addoption("--mc2-rank-deadline", default=None,
                help="seconds one invocation may take on backends that run ranks in worker processes (sim-process, "
                     "aclnn, torch-npu); a rank past it fails its test as `timeout` (env MC2_RANK_DEADLINE)")
    g.addoption("--mc2-keep-outputs", default=None, metavar="DIR",
                help="store the outputs of small cases (< 64 KiB per case) as .npz files in DIR (default: only their "
                     "sha256 in the results log)")
    g.addoption("--mc2-case-ids", default=None, metavar="FILE",
                help="run only the tests of these case ids (one per line; `mc2-conformance run --replay` writes it)")
    g.addoption("--mc2-require-determinism", action="store_true", default=False,
                help="relations: make bit-identical repeat runs a check (by default whether they held is recorded)")
    g.addoption("--mc2-first", default="", help="comma-separated constraint ids: run tests covering them first "
                                                 "(the self-check uses it to reach a fault's killing case fast)")


class _Settings:
    def __init__(self, config):
        opt = config.getoption
        keep_freed_memory()  # only in sessions that run the suite's cases (see the module docstring)
        self.backend_spec = opt("--mc2-backend") or os.environ.get("MC2_BACKEND") or "sim"
        self.profile = opt("--mc2-profile")
        if self.profile not in PROFILES:
            raise pytest.UsageError(f"--mc2-profile {self.profile!r}: expected one of {', '.join(PROFILES)}")
        sizes = opt("--mc2-world-sizes")
        try:
            self.world_sizes = tuple(sorted({int(w) for w in sizes.split(",") if w.strip()}))
        except ValueError:
            raise pytest.UsageError(f"--mc2-world-sizes {sizes!r}: expected integers like 1,2,4,8") from None
        bad = [w for w in self.world_sizes if w not in VALID_WORLD_SIZES]
        if bad or not self.world_sizes:
            raise pytest.UsageError(f"--mc2-world-sizes {sizes!r}: each must be one of 1, 2, 4, 8")
        try:
            self.seed = int(opt("--mc2-seed"))
        except ValueError:
            raise pytest.UsageError(f"--mc2-seed {opt('--mc2-seed')!r}: expected an integer") from None
        self.faults = tuple(opt("--mc2-fault"))
        self.require_determinism = bool(opt("--mc2-require-determinism"))
        self.accumulation = opt("--mc2-accumulation-bound")
        if self.accumulation not in ACCUMULATION_BOUNDS:
            raise pytest.UsageError(f"--mc2-accumulation-bound {self.accumulation!r}: expected one of "
                                    f"{', '.join(ACCUMULATION_BOUNDS)}")
        self.sim_options = sim_options_from(opt, pytest=True)
        self.status_check = opt("--mc2-status-check")
        self.doc_revision = opt("--mc2-doc-revision")
        try:
            self.constraints = constraints_for(self.doc_revision)
        except ValueError as exc:
            raise pytest.UsageError(f"--mc2-doc-revision: {exc}") from None
        self.precision_standard = opt("--mc2-precision-standard")
        if self.precision_standard is not None and self.precision_standard not in PRECISION_STANDARDS:
            raise pytest.UsageError(f"--mc2-precision-standard {self.precision_standard!r}: expected one of "
                                    f"{', '.join(PRECISION_STANDARDS)}")
        if self.status_check not in STATUS_CHECKS:
            raise pytest.UsageError(f"--mc2-status-check {self.status_check!r}: expected one of "
                                    f"{', '.join(STATUS_CHECKS)}")
        try:
            self.fuzz_examples = int(opt("--mc2-fuzz-examples"))
        except ValueError:
            raise pytest.UsageError(
                f"--mc2-fuzz-examples {opt('--mc2-fuzz-examples')!r}: expected an integer") from None
        self.fuzz_db = opt("--mc2-fuzz-db")
        self.leaser = None
        self.leased = None  # the backend with a lease per invocation (leased_backend), made once
        if opt("--mc2-devices"):
            try:
                ids = parse_devices(None if opt("--mc2-devices") == "env" else opt("--mc2-devices"))
            except LeaseError as exc:
                raise pytest.UsageError(f"--mc2-devices: {exc}") from None
            lease_dir = opt("--mc2-lease-dir") or os.path.join(tempfile.gettempdir(), f"mc2-leases-{os.getuid()}")
            self.leaser = DeviceLeaser(ids, lease_dir)
        self.rank_deadline = opt("--mc2-rank-deadline") or os.environ.get("MC2_RANK_DEADLINE")
        try:
            deadline = float(self.rank_deadline) if self.rank_deadline else None
        except ValueError:
            raise pytest.UsageError(f"--mc2-rank-deadline {self.rank_deadline!r}: expected seconds, e.g. 120") from None
        try:  # fail at start-up, in one line, rather than in every test
            self.backend = load_backend(self.backend_spec, faults=self.faults, sim_options=self.sim_options,
                                        deadline_s=deadline)
            casegen.catalogue()  # also reads cases/regressions.json
        except (BackendError, ValueError) as exc:
            raise pytest.UsageError(str(exc)) from None
        self.cann_version = opt("--mc2-cann-version") or self.backend.describe().get("cann_version")
        self.keep_outputs = opt("--mc2-keep-outputs")
        self.case_ids = None
        if opt("--mc2-case-ids"):
            try:
                self.case_ids = {ln.strip() for ln in Path(opt("--mc2-case-ids")).read_text().splitlines()
                                 if ln.strip() and not ln.lstrip().startswith("#")}
            except OSError as exc:
                raise pytest.UsageError(f"--mc2-case-ids: cannot read {opt('--mc2-case-ids')}: {exc}") from None
        self.waivers = None
        if opt("--mc2-waivers"):
            try:
                self.waivers = WaiverBook(load_waivers(opt("--mc2-waivers")), cann_version=self.cann_version)
            except WaiverError as exc:
                raise pytest.UsageError(str(exc)) from None

    def repro(self, nodeid: str) -> str:
        args = ["pytest", nodeid, "--mc2-backend", self.backend_spec, "--mc2-seed", str(self.seed),
                "--mc2-profile", self.profile]
        for f in self.faults:
            args += ["--mc2-fault", f]
        if self.accumulation != "probabilistic":
            args += ["--mc2-accumulation-bound", self.accumulation]
        if self.rank_deadline:
            args += ["--mc2-rank-deadline", str(self.rank_deadline)]
        if self.status_check != "documented":
            args += ["--mc2-status-check", self.status_check]
        if self.doc_revision:
            args += ["--mc2-doc-revision", self.doc_revision]
        if self.precision_standard:
            args += ["--mc2-precision-standard", self.precision_standard]
        args += sim_flag_args(self.sim_options)
        return shlex.join(args)


_SETTINGS_KEY = pytest.StashKey[_Settings]()


def settings(config) -> _Settings:
    """The run's settings, made on first use (a test outside cases/ that uses the suite's marker or fixtures)."""
    s = config.stash.get(_SETTINGS_KEY, None)
    if s is None:
        s = config.stash[_SETTINGS_KEY] = _Settings(config)
    return s


def _active(config) -> _Settings | None:
    """The settings if the plugin acts in this session, else None (never makes them)."""
    return config.stash.get(_SETTINGS_KEY, None)


def collects_suite_cases(config) -> bool:
    """Whether a path this session collects is the suite's cases/ folder, inside it, or above it."""
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (base / arg.split("::")[0]).resolve()
        if path == CASES_DIR or CASES_DIR in path.parents or path in CASES_DIR.parents:
            return True
    return False


def _is_suite_item(item) -> bool:
    return (item.get_closest_marker("mc2_cases") is not None or item.get_closest_marker("mc2_fuzz") is not None
            or any(name in getattr(item, "fixturenames", ()) for name in SUITE_FIXTURES))


def pytest_configure(config):
    config.addinivalue_line("markers", "covers(*ids): constraint ids this test covers")
    config.addinivalue_line("markers", "mc2_cases(kinds=None, ops=None): parametrize `case` from the catalogue")
    config.addinivalue_line("markers", "mc2_fuzz: a fuzz test, run only with --mc2-fuzz-examples N")
    if not collects_suite_cases(config):
        return  # not a run of the suite's cases: no backend, no environment, no allocator tuning
    settings(config)  # a bad backend or option: one-line usage error, before any test runs
    if not hasattr(config, "workerinput"):  # the xdist controller, before it starts the workers
        _tune_xdist(config)
    alluredir = config.getoption("--alluredir", None)
    if alluredir and not hasattr(config, "workerinput"):  # run-wide facts: once, from the controller
        s = settings(config)
        from . import __version__
        from .reporting.summary import git_revision
        allure_results.write_run_files(alluredir, {
            **s.backend.describe(), "suite_version": __version__, "git_revision": git_revision(),
            "profile": s.profile, "world_sizes": ",".join(map(str, s.world_sizes)),
            "seed": s.seed, "faults": ",".join(s.faults) or "none", "cann_version": s.cann_version or "unknown"})
    path = config.getoption("--mc2-results")
    if path and not hasattr(config, "workerinput"):  # workers' reports reach the controller
        config.pluginmanager.register(ResultsLog(path, settings(config)), "mc2-results-log")


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def xdist_defaults(*, workers: int, cpus: int, env, dist: str, maxschedchunk: int | None) -> tuple[dict, int | None]:
    """(environment for the workers, xdist's maxschedchunk) for a run of the suite's cases on `workers` xdist
    workers (values the user set win):
    - BLAS threads: cpus // workers per worker. numpy's OpenBLAS otherwise starts a thread per CPU in every
      worker and spins them between the reference's many small products: on 2 cores, two workers each
      running an 8-rank tensor-parallel layer took 3x as long side by side as alone (measured, bench/README).
    - one case at a time to each worker (maxschedchunk 1): the items are ordered largest first
      (pytest_collection_modifyitems), and xdist's default first chunks of consecutive items would give all
      of the large cases to one worker."""
    if workers <= 1:
        return {}, maxschedchunk
    threads = str(max(1, cpus // workers))
    env_updates = {var: threads for var in BLAS_THREAD_VARIABLES if var not in env}
    if dist == "load" and maxschedchunk is None:
        maxschedchunk = 1
    return env_updates, maxschedchunk


def _tune_xdist(config) -> None:
    if config.getoption("dist", "no") == "no":
        return
    workers = len(config.getoption("tx", None) or ())  # xdist's worker count, after -n auto and --maxprocesses
    env_updates, chunk = xdist_defaults(workers=workers, cpus=os.cpu_count() or 1, env=os.environ,
                                        dist=config.getoption("dist", "no"),
                                        maxschedchunk=config.getoption("maxschedchunk", None))
    os.environ.update(env_updates)  # the workers are started after configure and inherit it
    if chunk is not None:
        config.option.maxschedchunk = chunk


def pytest_unconfigure(config):
    """Stop the backend's rank worker processes (process-based backends) at the end of the session."""
    s = config.stash.get(_SETTINGS_KEY, None)
    close = getattr(getattr(s, "backend", None), "close", None)
    if callable(close):
        close()


def pytest_report_header(config):
    s = _active(config)
    if s is None:
        return None
    faults = f" faults={','.join(s.faults)}" if s.faults else ""
    return (f"mc2-conformance: backend={s.backend_spec} profile={s.profile} world_sizes="
            f"{','.join(map(str, s.world_sizes))} seed={s.seed}{faults}")


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("mc2_cases")
    if marker is None or "case" not in metafunc.fixturenames:
        return
    s = settings(metafunc.config)
    cases = casegen.select(profile=s.profile, world_sizes=s.world_sizes, **marker.kwargs)
    metafunc.parametrize("case", [pytest.param(c, id=c.id, marks=pytest.mark.covers(*c.covers)) for c in cases])


@pytest.fixture(scope="session")
def mc2(request) -> _Settings:
    """The run's settings: backend, seed, world sizes, tolerance options."""
    return settings(request.config)


def leased_backend(mc2: _Settings, case):
    """The backend under test, leasing an aligned block of devices for the case's world size around each
    invocation only (hw.leasing.LeasedBackend); the backend itself without --mc2-devices. A case needing more
    devices than configured skips."""
    if mc2.leaser is None:
        return mc2.backend
    size = block_size(case.world_size)
    if size is None or size > len(mc2.leaser.devices):
        pytest.skip(f"needs {case.world_size} devices, {len(mc2.leaser.devices)} configured with --mc2-devices")
    if mc2.leased is None:
        mc2.leased = LeasedBackend(mc2.backend, mc2.leaser)
    return mc2.leased


@pytest.fixture
def judge_case(request, mc2):
    """Run a case on the backend under test; fail with the judged report plus a repro line, or skip."""
    from .judge import run_case

    def run(case, *, seed: int | None = None, expected: dict | None = None):
        alluring = bool(request.config.getoption("--alluredir", None))
        if alluring:
            allure_results.label_case(case, seed=mc2.seed if seed is None else seed)
        outcome = run_case(case, leased_backend(mc2, case), seed=mc2.seed if seed is None else seed,
                           accumulation=mc2.accumulation, expected=expected,
                           status_check=mc2.status_check, constraints=mc2.constraints,
                           keep_outputs=bool(mc2.keep_outputs), precision_standard=mc2.precision_standard)
        kept = _keep_outputs(mc2.keep_outputs, request.node.nodeid, outcome.outputs)
        # user_properties cross the xdist channel, which carries only plain types: send JSON text
        request.node.user_properties.append(("mc2", json.dumps(
            {"case_id": case.id, "category": outcome.category, "op": case.op, "dtype": case.dtype,
             "world_size": case.world_size, "kind": case.kind, "covers": list(case.covers),
             "seconds": round(outcome.seconds, 4), "stats": outcome.stats(), "expected": outcome.expected,
             "observed": outcome.observed, "output_hashes": outcome.output_hashes,
             "inputs_sha256": outcome.inputs_sha256, "seed": outcome.seed, "generator": outcome.generator,
             **({"outputs_file": kept} if kept else {}),
             # mistrusted: passed, but its check could not discriminate (judge.py); the test does not fail
             **({"mistrusted": outcome.detail} if outcome.category == "mistrusted" else {})}, default=float)))
        if outcome.category == "unsupported":
            pytest.skip(f"backend {mc2.backend.name} does not support this case: {outcome.detail}")
        if not outcome.passed:
            if alluring:
                allure_results.attach_failure(outcome)
            pytest.fail(f"{outcome.report()}\nrepro: {mc2.repro(request.node.nodeid)}", pytrace=False)
        return outcome

    return run


KEEP_OUTPUTS_LIMIT = 64 * 1024  # bytes per case: --mc2-keep-outputs stores only cases below it


def _keep_outputs(folder: str | None, nodeid: str, outputs: dict | None) -> str | None:
    """Write a small case's outputs to folder/<nodeid>.npz (each xdist worker its own files); the file's name
    (recorded as `outputs_file` in the mc2 property)."""
    if not folder or not outputs or sum(a.nbytes for a in outputs.values()) >= KEEP_OUTPUTS_LIMIT:
        return None
    import numpy as np
    name = re.sub(r"[^A-Za-z0-9._\[\]-]+", "_", nodeid)[-200:] + ".npz"
    os.makedirs(folder, exist_ok=True)
    # numpy's .npz cannot name bfloat16 (ml_dtypes): those are stored widened to float32, which is exact
    np.savez(os.path.join(folder, name), **{k: (a.astype(np.float32) if a.dtype.name == "bfloat16" else a)
                                            for k, a in outputs.items()})
    return name


def _case_of(item):
    """The test's `case` parameter (a Case), or None."""
    return getattr(getattr(item, "callspec", None), "params", {}).get("case")


def _case_id_of(item) -> str | None:
    """The case a test runs: its `case` parameter, else its parametrize id (relation tests name their case
    there), as `mc2-conformance diff` reads it back from the node id."""
    return getattr(_case_of(item), "id", None) or getattr(getattr(item, "callspec", None), "id", None)


def pytest_collection_modifyitems(session, config, items):
    if _active(config) is None and not any(_is_suite_item(item) for item in items):
        return
    ids = settings(config).case_ids
    if ids is not None:  # --mc2-case-ids: only these cases (a replay); tests without a case (fuzz) go too
        dropped = [item for item in items if _case_id_of(item) not in ids]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if _case_id_of(item) in ids]
    if settings(config).fuzz_examples <= 0:
        fuzz = [item for item in items if item.get_closest_marker("mc2_fuzz")]
        if fuzz:
            config.hook.pytest_deselected(items=fuzz)
            items[:] = [item for item in items if not item.get_closest_marker("mc2_fuzz")]
    grouped = getattr(settings(config).backend, "reuses_rank_groups", False)
    if grouped:
        # rank worker groups live as long as consecutive tests share a world size: order tests by it (stable)
        items.sort(key=lambda item: getattr(_case_of(item), "world_size", 0))
    first = {c for c in config.getoption("--mc2-first").split(",") if c}
    if first:  # tests covering `first` go first, cheapest first; the rest keep the catalogue order

        def key(item):
            covers = any(first & set(m.args) for m in item.iter_markers("covers"))
            return (0, getattr(_case_of(item), "cost", 0)) if covers else (1, 0)

        items.sort(key=key)
    elif not grouped:
        # largest cases first, so xdist can spread them over the workers (xdist_defaults) instead of one
        # worker finishing a tail of them alone
        items.sort(key=lambda item: -getattr(_case_of(item), "cost", 0))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failure matched by an active waiver is reported as waived (xfailed with the waiver's reason)."""
    outcome = yield
    report = outcome.get_result()
    book = getattr(_active(item.config), "waivers", None)
    if book is None or not report.failed or report.when not in ("call", "setup"):
        return
    waiver = book.waiver_for(item.nodeid)
    if waiver is not None:
        report.outcome = "skipped"
        report.wasxfail = waiver.label()


def pytest_terminal_summary(terminalreporter, config):
    book = getattr(_active(config), "waivers", None)
    if book is None or hasattr(config, "workerinput"):
        return
    findings = book.findings()
    if findings:
        terminalreporter.section("waivers")
        for line in findings:
            terminalreporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem, report, sched):
    """xdist lost a worker in the middle of `crashitem`: make it appear in Allure as broken."""
    alluredir = sched.config.getoption("--alluredir", None)
    if alluredir:
        allure_results.write_broken(alluredir, crashitem, f"worker crashed while running {crashitem}")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """Under xdist the controller collects nothing itself: it learns the test ids from the workers."""
    book = getattr(_active(node.config), "waivers", None)
    if book is not None:
        book.note_collected(ids)


def pytest_collection_finish(session):
    book = getattr(_active(session.config), "waivers", None)
    if book is not None and session.items:
        book.note_collected([item.nodeid for item in session.items])
    path = session.config.getoption("--mc2-coverage")
    if not path:
        return
    coverage = {}
    for item in session.items:
        for mark in item.iter_markers("covers"):
            for cid in mark.args:
                coverage.setdefault(cid, []).append(item.nodeid)
    with open(path, "w") as f:
        json.dump({"tests": len(session.items), "coverage": coverage}, f)


class ResultsLog:
    """Controller side (also without xdist): one JSON line per test, appended as each report arrives, so
    nothing is lost if a worker dies (xdist reports the crashed test as failed, and it is logged too)."""

    def __init__(self, path: str, s: _Settings):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        from . import __version__
        from .reporting.summary import git_revision
        node = {"hostname": platform.node(), "python": platform.python_version(), "platform": platform.platform(),
                "suite_version": __version__, "git_revision": git_revision()}
        self._write({"run": {"backend": s.backend_spec, "profile": s.profile, "world_sizes": list(s.world_sizes),
                             "seed": s.seed, "faults": list(s.faults), "accumulation": s.accumulation,
                             "status_check": s.status_check, "doc_revision": s.doc_revision or "shared (default)",
                             "cann_version": s.cann_version, "node": node,
                             "environment": s.backend.describe(), "started": time.time()}})

    def _write(self, entry: dict):
        with open(self.path, "a") as f:
            f.write(json.dumps(entry, default=str) + "\n")

    def pytest_runtest_logreport(self, report):
        if not (report.when == "call" or report.outcome != "passed"):
            return
        entry = {"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
                 "duration": round(report.duration, 4), "time": time.time(),
                 **{k: json.loads(v) for k, v in report.user_properties if k in ("mc2", "mc2_relation")}}
        wasxfail = getattr(report, "wasxfail", "")
        if report.outcome == "skipped" and wasxfail.startswith("waived:"):
            entry["outcome"] = "waived"
            entry["message"] = wasxfail
        elif report.outcome == "failed":
            entry["message"] = str(report.longrepr)[-4000:]
        elif report.outcome == "skipped" and isinstance(report.longrepr, tuple):
            entry["message"] = report.longrepr[2]
        self._write(entry)

    def pytest_sessionfinish(self, session):
        book = settings(session.config).waivers
        if book is not None:
            self._write({"waiver_findings": book.findings()})
