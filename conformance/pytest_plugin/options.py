"""The plugin's options (pytest_addoption's body), the run's settings made from them, and whether this session
runs the suite's cases at all (the cases folder's marker)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from .. import backend_setup, casegen
from ..backends import BackendError
from ..context import Context, from_pytest
from ..hw.leasing import DeviceLeaser, LeaseError, parse_devices
from ..memory import keep_freed_memory
from ..options import HCCL_DETERMINISTIC, SUITE_OPTIONS, OptionError
from ..reporting.waivers import WaiverBook, WaiverError
from ..reporting.waivers import load as load_waivers

# the suite's cases folder declares this line in its conftest.py (cases/conftest.py): the plugin finds the folder
# by it, never by a path relative to the package
CASES_MARKER = "mc2_suite_cases = True"
SUITE_FIXTURES = ("mc2", "judge_case")


def add_options(parser):
    g = parser.getgroup("mc2-conformance", "MC2 operator conformance (the suite's cases/ only)")
    for o in SUITE_OPTIONS:  # defined once with the command line's (options.py); unset: None, the table's default
        if o.switch:
            g.addoption(o.pytest_flag, action="store_true", default=False, help=o.help)
            continue
        g.addoption(o.pytest_flag, default=[] if o.repeat else None, action="append" if o.repeat else "store",
                    help=o.help)
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


class Settings:
    def __init__(self, config):
        opt = config.getoption
        keep_freed_memory()  # only in sessions that run the suite's cases (see the module docstring)
        try:  # every suite option, validated once from the one table (conformance/options.py, context.py)
            self.context: Context = from_pytest(opt)
            self.constraints = self.context.constraints
            self.context.deviation_setting  # noqa: B018  (an unknown --mc2-sim-cann-revision: one line, now)
        except OptionError as exc:
            raise pytest.UsageError(str(exc)) from None
        c = self.context
        self.backend_spec, self.profile, self.world_sizes, self.seed = c.backend, c.profile, c.world_sizes, c.seed
        self.operators = c.operators  # --operators: empty for every operator
        self.faults, self.accumulation, self.sim_options = c.faults, c.accumulation, c.sim_options
        self.status_check, self.doc_revision, self.precision_standard = (c.status_check, c.doc_revision,
                                                                         c.precision_standard)
        self.require_determinism = bool(opt("--mc2-require-determinism"))
        # the documented determinism setting (MARN-DET-001, V3-DET-001 of later revisions): the option's value is
        # exported before the backend starts, so rank processes inherit it (restored at the session's end); unset,
        # the environment's value is the run's
        self.hccl_deterministic = c.hccl_deterministic
        self.environ = {HCCL_DETERMINISTIC: c.hccl_deterministic}  # the settings in effect, for determinism_rule
        self._restore_environ = None
        if c.hccl_deterministic is not None and os.environ.get(HCCL_DETERMINISTIC) != c.hccl_deterministic:
            self._restore_environ = _EXPORTED[config] = (HCCL_DETERMINISTIC, os.environ.get(HCCL_DETERMINISTIC))
            os.environ[HCCL_DETERMINISTIC] = c.hccl_deterministic
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
            # --mc2-twin: the hardware backend on the CANN twin (CPU); the build is cached, so xdist workers and a
            # controller that prepared it first reuse it
            self.twin = backend_setup.prepare_twin(c, progress=None)
            self.backend = backend_setup.load(c, twin=self.twin, deadline_s=deadline)
            casegen.catalogue()  # also reads cases/regressions.json
        except (BackendError, ValueError) as exc:
            raise pytest.UsageError(str(exc)) from None
        # the run's environment facts (reports, Allure): the backend's, and on the twin the twin's, target included
        self.environment = backend_setup.environment(self.backend, self.twin)
        self.cann_version = c.cann_version or self.environment.get("cann_version")
        self.keep_outputs = opt("--mc2-keep-outputs")
        self.case_ids = None
        if opt("--mc2-case-ids"):
            try:
                self.case_ids = {ln.strip() for ln in Path(opt("--mc2-case-ids")).read_text().splitlines()
                                 if ln.strip() and not ln.lstrip().startswith("#")}
            except OSError as exc:
                raise pytest.UsageError(f"--mc2-case-ids: cannot read {opt('--mc2-case-ids')}: {exc}") from None
        self.waivers = None
        if c.waivers:
            try:
                self.waivers = WaiverBook(load_waivers(c.waivers), cann_version=self.cann_version)
            except WaiverError as exc:
                raise pytest.UsageError(str(exc)) from None

    def determinism_rule(self, op: str) -> tuple[bool, str]:
        """Whether repeat runs of `op` must be bit-identical in this run, and why (relations.determinism_rule)."""
        from ..relations import determinism_rule
        return determinism_rule(self.constraints, op, self.environ, self.require_determinism)

    def repro(self, nodeid: str) -> str:
        """The one-line command that reruns test `nodeid` as this run judged it."""
        extra = (["--mc2-rank-deadline", str(self.rank_deadline)] if self.rank_deadline else []) + \
            (["--mc2-require-determinism"] if self.require_determinism else [])
        return self.context.repro(nodeid, *extra)


_SETTINGS_KEY = pytest.StashKey[Settings]()


_EXPORTED: dict = {}  # config -> (name, value before) of an environment variable Settings exported


def _restore(exported) -> None:
    name, value = exported
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def settings(config) -> Settings:
    """The run's settings, made on first use (a test outside cases/ that uses the suite's marker or fixtures).
    Settings that fail (a one-line usage error) leave the environment as they found it."""
    s = config.stash.get(_SETTINGS_KEY, None)
    if s is None:
        try:
            s = config.stash[_SETTINGS_KEY] = Settings(config)
        except BaseException:
            if config in _EXPORTED:
                _restore(_EXPORTED.pop(config))
            raise
    return s


def active(config) -> Settings | None:
    """The settings if the plugin acts in this session, else None (never makes them)."""
    return config.stash.get(_SETTINGS_KEY, None)


def is_cases_dir(folder: Path) -> bool:
    """Whether `folder` is the suite's cases folder: its conftest.py declares CASES_MARKER."""
    conftest = folder / "conftest.py"
    try:
        return conftest.is_file() and CASES_MARKER in conftest.read_text()
    except OSError:
        return False


def collects_suite_cases(config) -> bool:
    """Whether a path this session collects is the suite's cases folder, inside it, or the folder holding it."""
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (base / arg.split("::")[0]).resolve()
        if any(is_cases_dir(p) for p in (path, *path.parents)):
            return True
        if path.is_dir() and any(is_cases_dir(child) for child in path.iterdir() if child.is_dir()):
            return True
    return False


def is_suite_item(item) -> bool:
    return (item.get_closest_marker("mc2_cases") is not None or item.get_closest_marker("mc2_fuzz") is not None
            or any(name in getattr(item, "fixturenames", ()) for name in SUITE_FIXTURES))


@pytest.hookimpl(tryfirst=True)  # before the other parts' configure hooks, which read the settings
def pytest_configure(config):
    config.addinivalue_line("markers", "covers(*ids): constraint ids this test covers")
    config.addinivalue_line("markers", "mc2_cases(kinds=None, ops=None): parametrize `case` from the catalogue")
    config.addinivalue_line("markers", "mc2_fuzz: a fuzz test, run only with --mc2-fuzz-examples N")
    if not collects_suite_cases(config):
        return  # not a run of the suite's cases: no backend, no environment, no allocator tuning
    settings(config)  # a bad backend or option: one-line usage error, before any test runs


def pytest_unconfigure(config):
    """Stop the backend's rank worker processes (process-based backends) at the end of the session."""
    s = config.stash.get(_SETTINGS_KEY, None)
    close = getattr(getattr(s, "backend", None), "close", None)
    if callable(close):
        close()
    restore = getattr(s, "_restore_environ", None)
    if restore:  # the environment as the session found it
        _restore(restore)
        _EXPORTED.pop(config, None)


def pytest_report_header(config):
    s = active(config)
    if s is None:
        return None
    faults = f" faults={','.join(s.faults)}" if s.faults else ""
    target = f" target={s.environment['target']}" if s.environment.get("target") else ""
    return (f"mc2-conformance: backend={s.backend_spec}{target} profile={s.profile} world_sizes="
            f"{','.join(map(str, s.world_sizes))} seed={s.seed}{faults}")
