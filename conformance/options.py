"""Suite options defined once, for both the pytest plugin and the `mc2-conformance` command line.

The command line spells an option `--name`; the pytest plugin spells the same option `--mc2-name` (PYTEST_PREFIX),
so that it cannot collide with another plugin's options (pytest-profiling's --profile, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from .sim.backend import ALLREDUCE_ACCUMULATIONS, RMS_SOURCES, X3_ROUNDINGS, SimOptions


PYTEST_PREFIX = "--mc2-"


def pytest_flag(flag: str) -> str:
    """The pytest plugin's spelling of a command-line option: --seed -> --mc2-seed."""
    return PYTEST_PREFIX + flag.removeprefix("--")


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
