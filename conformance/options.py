"""Suite options defined once: names, choices, defaults, how a value is read and checked, help, and the pytest
spelling. The pytest plugin registers them, the command line adds them to its parsers, `context.Context` holds
their values and writes the repro line back from the same table.

The command line spells an option `--name`; the pytest plugin spells the same option `--mc2-name` (PYTEST_PREFIX),
so that it cannot collide with another plugin's options (pytest-profiling's --profile, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .casegen.model import PROFILES
from .numeric_paths import ALLREDUCE_ACCUMULATIONS, RMS_SOURCES, X3_ROUNDINGS
from .spec.model import STATUS_CHECKS, UNSUPPORTED_INPUT_READINGS, VALID_WORLD_SIZES
from .tolerance.accumulation import ACCUMULATION_BOUNDS, DEFAULT_ACCUMULATION
from .tolerance.precision import STANDARDS as PRECISION_STANDARDS

PYTEST_PREFIX = "--mc2-"


class OptionError(ValueError):
    """A suite option's value is invalid; the message is one line naming the option."""


def pytest_flag(flag: str) -> str:
    """The pytest plugin's spelling of a command-line option: --seed -> --mc2-seed."""
    return PYTEST_PREFIX + flag.removeprefix("--")


def _integer(text: str) -> int:
    return int(str(text).strip())


def _world_sizes(text: str) -> tuple[int, ...]:
    return tuple(sorted({int(w) for w in str(text).split(",") if w.strip()}))


def _lower(text: str) -> str:
    return str(text).strip().lower()


# --busy-cores (conformance/backends/busy.py): the smaller Atlas A2 part has 20 cube cores (sim/cann/paths.py
# PLATFORMS); at most 19 busy leaves the MC2 kernel at least one
MAX_BUSY_CORES = 19


def _busy_cores(text: str) -> int:
    cores = _integer(text)
    if not 0 <= cores <= MAX_BUSY_CORES:
        raise ValueError(text)
    return cores


def _twin_revision(text: str) -> str:
    """The twin's modelled source revision, by name or commit prefix, as its name (sim-cann's revisions: the twin
    executes the operators in sim-cann's device model of that revision)."""
    from .sim.cann.revisions import UnknownRevision, get  # lazily: the option table never imports the simulator
    try:
        return get(str(text).strip()).name
    except UnknownRevision as exc:
        raise OptionError(f"--twin-revision {text!r}: {exc}") from None


def _operators(text: str) -> tuple[str, ...]:
    """Registered operator names (comma-separated); empty: every operator."""
    from . import operators  # the registry only: it imports no layer
    names = tuple(dict.fromkeys(n.strip() for n in str(text).split(",") if n.strip()))
    for name in names:
        try:
            operators.get(name)
        except operators.UnknownOperator as exc:
            raise OptionError(f"--operators: {exc}") from None
    return names


# the backends the CANN twin serves: the two that load CANN (one definition with conformance.backends.HARDWARE,
# tests/test_twin_cli.py checks; the option table may not import the backends)
TWIN_BACKENDS = ("aclnn", "torch-npu")

_EXPECTED = {_integer: "an integer", _world_sizes: "integers like 1,2,4,8",
             _busy_cores: f"a number of AI cores from 0 (off) to {MAX_BUSY_CORES}"}

# HCCL's values of its environment variable HCCL_DETERMINISTIC (hicann/hccl docs/zh/user_guide/hccl_env/
# HCCL_DETERMINISTIC.md: false, the default; true; strict, order-preserving). Later revisions of both documents
# promise deterministic computation with HCCL_DETERMINISTIC=true (spec.revisions: MARN-DET-001, V3-DET-001).
HCCL_DETERMINISTIC = "HCCL_DETERMINISTIC"
HCCL_DETERMINISTIC_VALUES = ("false", "true", "strict")


@dataclass(frozen=True)
class SuiteOption:
    """An option of a run of the suite's cases, spelled `flag` on the command line and `pytest_flag` in pytest."""
    flag: str
    help: str
    default: str | None = None  # as text; None: unset
    choices: tuple[str, ...] | None = None  # other values are refused in one line
    repeat: bool = False  # may be given several times
    selects: bool = False  # selects the cases (profile, world sizes): only commands that run a profile have it
    run_only: bool = False  # a judging option only `run` passes on to pytest
    convert: Callable[[str], Any] | None = None  # text -> value (None: the text itself)
    allowed: tuple | None = None  # each converted value must be one of these
    sim_field: str = ""  # the SimOptions field of a simulator path option
    env: str = ""  # the environment variable read where the option is not given
    repro: str = "changed"  # in a repro line: "always", "changed" (only when not the default) or "never"
    switch: bool = False  # an on/off flag without a value (off by default; a repro line writes the flag alone)

    @property
    def pytest_flag(self) -> str:
        return pytest_flag(self.flag)

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def parsed_default(self) -> Any:
        if self.switch:
            return False
        if self.repeat:
            return ()
        return None if self.default is None else self.parse(self.default)

    def parse(self, raw: Any) -> Any:
        """The value of `raw` (text, or a list of texts for a repeatable option); OptionError if invalid."""
        if self.repeat:
            return tuple(str(v) for v in (raw if isinstance(raw, (list, tuple)) else [raw]))
        if self.switch:
            return bool(raw)
        if self.convert is None or not isinstance(raw, str):
            value = raw
        else:
            try:
                value = self.convert(raw)
            except OptionError:  # the converter's own line (it names what is allowed)
                raise
            except ValueError:
                raise OptionError(f"{self.flag} {raw!r}: expected {_EXPECTED.get(self.convert, 'a value')}") from None
        self.check(value, raw)
        return value

    def check(self, value: Any, raw: Any = None) -> None:
        """OptionError unless `value` is one this option allows (None: unset, allowed where the default is)."""
        shown = value if raw is None else raw
        if value is None and self.default is None:
            return
        if self.choices is not None and value not in self.choices:
            raise OptionError(f"{self.flag} {shown!r}: expected one of {', '.join(self.choices)}")
        if self.allowed is not None:
            items = value if isinstance(value, tuple) else (value,)
            if not items or any(v not in self.allowed for v in items):
                raise OptionError(f"{self.flag} {shown!r}: each must be one of "
                                  f"{', '.join(str(v) for v in self.allowed)}")

    def texts(self, value: Any) -> list[str]:
        """`value` written back as the option's argument texts (none for a switch: the flag alone)."""
        if self.switch:
            return []
        if self.repeat:
            return [str(v) for v in value]
        if isinstance(value, tuple):
            return [",".join(str(v) for v in value)]
        return [str(value)]


SUITE_OPTIONS = (
    SuiteOption("--backend", "backend under test: sim (default), sim-process, sim-cann, torch-cpu, aclnn, torch-npu, "
                             "or an import path 'package.module:attr' (env MC2_BACKEND)", "sim", env="MC2_BACKEND",
                repro="always"),
    SuiteOption("--seed", "run seed; every case derives its own inputs from it (default 0)", "0", convert=_integer,
                repro="always"),
    SuiteOption("--profile", f"case profile: {', '.join(PROFILES)} (default signoff)", "signoff", PROFILES,
                selects=True, repro="always"),
    SuiteOption("--world-sizes", "comma-separated world sizes to run (subset of 1,2,4,8; default all)", "1,2,4,8",
                selects=True, convert=_world_sizes, allowed=VALID_WORLD_SIZES, repro="never"),
    SuiteOption("--operators", "comma-separated operators to run (their record names, e.g. QuantMatmulAllReduceV3; "
                               "`mc2-conformance constraints` lists them; default all): a sign-off of the operators a "
                               "stack reaches, e.g. torch_npu without MindSpeed", "", selects=True,
                convert=_operators, repro="always"),
    SuiteOption("--fault", "simulator fault to inject (repeatable); `mc2-conformance faults` lists them",
                repeat=True),
    SuiteOption("--accumulation-bound", "fp32 dot-product error model of the tolerance (default probabilistic)",
                DEFAULT_ACCUMULATION, ACCUMULATION_BOUNDS),
    SuiteOption("--status-check", "which rejection codes are enforced: 'documented' (default: only codes a document "
                                  "states; any other rejection is conformant and recorded) or 'convention' (also the "
                                  "aclnn convention's 161001/161002 where no document states a code)",
                STATUS_CHECKS[0], STATUS_CHECKS),
    SuiteOption("--unsupported-inputs", "an input the document calls unsupported where no document promises its "
                                        "rejection and the formula is defined on it (non-contiguous layouts): "
                                        "'reject-or-compute' (default: a rejection, or success with correct outputs, "
                                        "passes) or 'reject' (the literal reading: only a rejection passes)",
                UNSUPPORTED_INPUT_READINGS[0], UNSUPPORTED_INPUT_READINGS),
    SuiteOption("--doc-revision", "judge against a newer revision of the documents (e.g. repo-c29bc10, latest, or "
                                  "DOC=REV,...; `mc2-conformance constraints --doc-drift` lists them); default: the "
                                  "documents in shared/docs"),
    SuiteOption("--hccl-deterministic", "HCCL_DETERMINISTIC for the run: false, true or strict, exported into the "
                                        "environment before the backend starts, so every rank inherits it; unset: "
                                        "the environment's value is kept and recorded (env HCCL_DETERMINISTIC). "
                                        "Where the selected document revision promises determinism under "
                                        "HCCL_DETERMINISTIC=true (--doc-revision latest) and the run is under it, "
                                        "repeat runs must be bit-identical",
                None, HCCL_DETERMINISTIC_VALUES, run_only=True, convert=_lower, env=HCCL_DETERMINISTIC),
    SuiteOption("--waivers", "TOML file of waivers (pattern, reason, issue, cann_versions, expires): the only way to "
                             "accept a known failure", run_only=True, repro="never"),
    SuiteOption("--cann-version", "CANN version under test, for waivers and reports (default: what the backend "
                                  "reports)", run_only=True, repro="never"),
    SuiteOption("--precision-standard", "judge by the vendor's precision standard (hicann/opbase): a case below the "
                                        "level fails (category precision); default: the level is recorded only",
                None, PRECISION_STANDARDS, run_only=True),
    SuiteOption("--busy-cores", "hardware backends (aclnn, torch-npu): before each fused call every rank launches "
                                "matmuls on a second stream limited to N AI (cube) cores, then the MC2 call, then "
                                "waits for both; an MC2 kernel that needs every core (a scheduling hang) then ends "
                                "as `timeout` at the rank deadline. Proves the call is made and judged while N cores "
                                "are held; cannot prove, without a device, that the busy work overlaps it "
                                "(conformance/backends/busy.py). 0 (default): off (env MC2_BUSY_CORES)",
                "0", convert=_busy_cores, run_only=True, env="MC2_BUSY_CORES"),
    SuiteOption("--sim-allreduce-accumulation",
                "simulator modelling option: HCCL sums partials in fp32 or in the output dtype (MARN-AMB-003)",
                ALLREDUCE_ACCUMULATIONS[0], ALLREDUCE_ACCUMULATIONS, sim_field="allreduce_accumulation"),
    SuiteOption("--sim-bf16-rms-source",
                "simulator path: which bf16 value feeds MARN's RMSNorm (MARN-AMB-007; sim-cann picks it per shape "
                "as the tiling does)", RMS_SOURCES[0], RMS_SOURCES, sim_field="bf16_rms_source"),
    SuiteOption("--sim-cann-revision",
                "sim-cann: the published source revision modelled: c29bc10, a release-branch head (8.5.0, 9.0.0, "
                "9.1.0, ...) or master (`mc2-conformance source-drift` lists them); default: the newest modelled",
                sim_field="cann_revision"),
    SuiteOption("--sim-x3-rounding",
                "simulator path: V3 adds x3 after storing the product in the output dtype (after_store, the kernels) "
                "or before the one store (fused) (V3-AMB-007)", X3_ROUNDINGS[0], X3_ROUNDINGS,
                sim_field="x3_rounding"),
    SuiteOption("--twin", f"run the hardware backends ({', '.join(TWIN_BACKENDS)}) on the CANN twin (CPU): fake CANN "
                          "libraries, install tree, runtime and HCCL on this machine, the operators executed by "
                          "sim-cann's device model (conformance/twin); built on first use and cached. Reports say "
                          "'CANN twin (CPU)', never hardware", switch=True),
    SuiteOption("--twin-revision", "with --twin: the published source revision the twin models (c29bc10, a "
                                   "release-branch head such as 8.5.0, or master; `mc2-conformance source-drift` lists "
                                   "them; its known deviations are waived by --waivers waivers/cann-source-"
                                   "<revision>.toml); default: the newest modelled", convert=_twin_revision),
)
BY_DEST = {o.dest: o for o in SUITE_OPTIONS}
BY_FLAG = {o.flag: o for o in SUITE_OPTIONS}
SIM_FLAGS = tuple(o for o in SUITE_OPTIONS if o.sim_field)
