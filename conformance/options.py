"""Suite options defined once, for both the pytest plugin and the `mc2-conformance` command line.

The command line spells an option `--name`; the pytest plugin spells the same option `--mc2-name` (PYTEST_PREFIX),
so that it cannot collide with another plugin's options (pytest-profiling's --profile, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from .casegen.model import PROFILES
from .sim.backend import ALLREDUCE_ACCUMULATIONS, RMS_SOURCES, X3_ROUNDINGS, SimOptions
from .spec.model import STATUS_CHECKS
from .tolerance.accumulation import ACCUMULATION_BOUNDS
from .tolerance.precision import STANDARDS as PRECISION_STANDARDS


PYTEST_PREFIX = "--mc2-"


def pytest_flag(flag: str) -> str:
    """The pytest plugin's spelling of a command-line option: --seed -> --mc2-seed."""
    return PYTEST_PREFIX + flag.removeprefix("--")


@dataclass(frozen=True)
class SuiteOption:
    """An option of a run of the suite's cases, spelled `flag` on the command line and `pytest_flag` in pytest."""
    flag: str
    help: str
    default: str | None = None  # None: unset (the plugin decides, e.g. the backend from MC2_BACKEND)
    choices: tuple[str, ...] | None = None  # the command line refuses others; the plugin says why in one line
    repeat: bool = False  # may be given several times
    selects: bool = False  # selects the cases (profile, world sizes): only commands that run a profile have it

    @property
    def pytest_flag(self) -> str:
        return pytest_flag(self.flag)

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


SUITE_OPTIONS = (
    SuiteOption("--backend", "backend under test: sim (default), sim-process, sim-cann, torch-cpu, aclnn, torch-npu, "
                             "or an import path 'package.module:attr' (env MC2_BACKEND)"),
    SuiteOption("--profile", f"case profile: {', '.join(PROFILES)} (default signoff)", "signoff", PROFILES,
                selects=True),
    SuiteOption("--world-sizes", "comma-separated world sizes to run (subset of 1,2,4,8; default all)", "1,2,4,8",
                selects=True),
    SuiteOption("--seed", "run seed; every case derives its own inputs from it (default 0)", "0"),
    SuiteOption("--fault", "simulator fault to inject (repeatable); `mc2-conformance faults` lists them",
                repeat=True),
    SuiteOption("--accumulation-bound", "fp32 dot-product error model of the tolerance (default probabilistic)",
                "probabilistic", ACCUMULATION_BOUNDS),
    SuiteOption("--status-check", "which rejection codes are enforced: 'documented' (default: only codes a document "
                                  "states; any other rejection is conformant and recorded) or 'convention' (also the "
                                  "aclnn convention's 161001/161002 where no document states a code)",
                "documented", STATUS_CHECKS),
    SuiteOption("--doc-revision", "judge against a newer revision of the documents (e.g. repo-c29bc10, or "
                                  "DOC=REV,...; `mc2-conformance constraints --doc-drift` lists them); default: the "
                                  "documents in shared/docs"),
    SuiteOption("--waivers", "TOML file of waivers (pattern, reason, issue, cann_versions, expires): the only way to "
                             "accept a known failure"),
    SuiteOption("--cann-version", "CANN version under test, for waivers and reports (default: what the backend "
                                  "reports)"),
    SuiteOption("--precision-standard", "judge by the vendor's precision standard (hicann/opbase): a case below the "
                                        "level fails (category precision); default: the level is recorded only",
                None, PRECISION_STANDARDS),
)


def suite_option_args(values) -> list[str]:
    """The pytest arguments (--mc2-...) for the command line's parsed options `values` (an argparse Namespace):
    every suite option it has and set, and the simulator's path options."""
    args = []
    for o in SUITE_OPTIONS:
        value = getattr(values, o.dest, None)
        for v in (value or []) if o.repeat else ([] if value is None else [value]):
            args += [o.pytest_flag, str(v)]
    return args


@dataclass(frozen=True)
class SimFlag:
    flag: str  # `mc2-conformance` flag (the pytest plugin's is `pytest_flag`)
    field: str  # SimOptions field
    choices: tuple[str, ...]
    help: str

    @property
    def pytest_flag(self) -> str:
        return pytest_flag(self.flag)

    @property
    def default(self) -> str:
        return getattr(SimOptions(), self.field)


SIM_FLAGS = (
    SimFlag("--sim-allreduce-accumulation", "allreduce_accumulation", ALLREDUCE_ACCUMULATIONS,
            "simulator modelling option: HCCL sums partials in fp32 or in the output dtype (MARN-AMB-003)"),
    SimFlag("--sim-bf16-rms-source", "bf16_rms_source", RMS_SOURCES,
            "simulator path: which bf16 value feeds MARN's RMSNorm (MARN-AMB-007; sim-cann picks it per shape "
            "as the tiling does)"),
    SimFlag("--sim-x3-rounding", "x3_rounding", X3_ROUNDINGS,
            "simulator path: V3 adds x3 after storing the product in the output dtype (after_store, the kernels) "
            "or before the one store (fused) (V3-AMB-007)"),
)


def sim_options_from(get, *, pytest: bool = False) -> dict:
    """SimOptions keyword arguments from `get(flag) -> value or None` (None keeps the default); `pytest`: ask
    for the plugin's flag names (--mc2-sim-...) rather than the command line's (--sim-...)."""
    values = {f.field: get(f.pytest_flag if pytest else f.flag) for f in SIM_FLAGS}
    return {k: v for k, v in values.items() if v is not None}


def sim_flag_args(options: dict) -> list[str]:
    """The pytest arguments (--mc2-sim-...) that reproduce `options` (defaults left out)."""
    args = []
    for f in SIM_FLAGS:
        value = options.get(f.field)
        if value is not None and value != f.default:
            args += [f.pytest_flag, value]
    return args
