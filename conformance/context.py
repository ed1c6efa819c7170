"""The judging context: every option of a run of the suite as one object, built once from the option table.

`options.SUITE_OPTIONS` defines each option once (names, choices, default, how its text is read, help); this module
turns the values a front end collected (the pytest plugin's `--mc2-...`, the command line's `--...`, or keyword
arguments in a test) into a validated, frozen `Context`. Layers below take the context whole instead of loose
keyword options, and the repro line is the context written back as arguments (`repro_args`): what differs from
the table's defaults, in the spelling asked for.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .options import BY_DEST, SUITE_OPTIONS, TWIN_BACKENDS, OptionError, SuiteOption, pytest_flag


def _default(dest: str) -> Any:
    return BY_DEST[dest].parsed_default


@dataclass(frozen=True)
class Context:
    """The options of one run: what is under test, which cases, and how they are judged.

    Field names are the option table's `dest` names; `with_metrics` and `keep_outputs` are the judge's own
    switches (no option: the fuzzers and self-check turn metrics off, the plugin keeps outputs on request)."""

    backend: str = _default("backend")
    profile: str = _default("profile")
    world_sizes: tuple[int, ...] = _default("world_sizes")
    operators: tuple[str, ...] = _default("operators")  # empty: every registered operator
    seed: int = _default("seed")
    fault: tuple[str, ...] = _default("fault")
    accumulation_bound: str = _default("accumulation_bound")
    status_check: str = _default("status_check")
    unsupported_inputs: str = _default("unsupported_inputs")
    doc_revision: str | None = _default("doc_revision")
    hccl_deterministic: str | None = _default("hccl_deterministic")  # the option, else the environment's value
    waivers: str | None = _default("waivers")
    cann_version: str | None = _default("cann_version")
    precision_standard: str | None = _default("precision_standard")
    busy_cores: int = _default("busy_cores")  # hardware backends: AI cores a second stream holds per call
    sim_allreduce_accumulation: str = _default("sim_allreduce_accumulation")
    sim_bf16_rms_source: str = _default("sim_bf16_rms_source")
    sim_x3_rounding: str = _default("sim_x3_rounding")
    sim_cann_revision: str | None = _default("sim_cann_revision")
    twin: bool = _default("twin")  # the hardware backend runs on the CANN twin (CPU), not on a device
    twin_revision: str | None = _default("twin_revision")  # the source revision the twin models (None: newest)
    with_metrics: bool = True
    keep_outputs: bool = False
    # the constraint records to judge by, where a caller holds its own (a test's edited catalogue); None: the
    # records of `doc_revision`
    constraint_records: Mapping | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        for o in SUITE_OPTIONS:  # keyword construction is validated like the front ends' text
            o.check(getattr(self, o.dest))
        self._check_twin()

    def _check_twin(self) -> None:
        """The twin stands in for a CANN node: only the backends that load CANN run on it, and its revision is its
        own option (sim-cann's would be silently ignored by a hardware backend)."""
        if self.twin_revision is not None and not self.twin:
            raise OptionError("--twin-revision applies only with --twin (the revision the CANN twin models)")
        if not self.twin:
            return
        if self.backend not in TWIN_BACKENDS:
            raise OptionError(f"--twin serves the hardware backends ({', '.join(TWIN_BACKENDS)}); backend "
                              f"{self.backend!r} does not load CANN: drop --twin or choose one of them")
        if self.sim_cann_revision is not None:
            raise OptionError("--twin takes its modelled revision from --twin-revision, not --sim-cann-revision")

    # --- derived facts ---------------------------------------------------------------------------------------
    @property
    def accumulation(self) -> str:
        """The fp32 dot-product error model of the bounds (tolerance.accumulation)."""
        return self.accumulation_bound

    @property
    def faults(self) -> tuple[str, ...]:
        return self.fault

    @property
    def constraints(self) -> Mapping:
        """id -> Constraint as the selected document revision states it (spec.constraints_for)."""
        if self.constraint_records is not None:
            return self.constraint_records
        from .spec import constraints_for
        try:
            return constraints_for(self.doc_revision)
        except ValueError as exc:
            raise OptionError(f"--doc-revision: {exc}") from None

    @property
    def sim_options(self) -> dict[str, str]:
        """The simulator's numeric-path options that differ from their defaults (SimOptions keyword arguments, by
        each option's `sim_field`): a backend that takes its paths from elsewhere (sim-cann) refuses any."""
        return {o.sim_field: getattr(self, o.dest) for o in SUITE_OPTIONS
                if o.sim_field and getattr(self, o.dest) != o.parsed_default}

    @property
    def deviation_setting(self) -> tuple[str, str]:
        """(source revision name, --unsupported-inputs reading) the run's known deviations are taken at: the
        revision sim-cann or the CANN twin models, resolved to its name (the newest modelled when unset: the source
        of the CANN under test)."""
        from .sim.cann.revisions import UnknownRevision, get
        flag, name = ("--twin-revision", self.twin_revision) if self.twin else \
            ("--sim-cann-revision", self.sim_cann_revision)
        try:
            revision = get(name).name
        except UnknownRevision as exc:
            raise OptionError(f"{flag}: {exc}") from None
        return revision, self.unsupported_inputs

    def replace(self, **changes) -> "Context":
        return dataclasses.replace(self, **changes)

    # --- writing it back -------------------------------------------------------------------------------------
    def args(self, *, pytest: bool = True, include: Callable[[SuiteOption], bool] = lambda o: True,
             always: bool = False) -> list[str]:
        """The arguments that rebuild this context, spelled for pytest (--mc2-...) or for the command line;
        options at their defaults are left out (`always`: but those whose table entry says repro="always");
        `include` filters the options."""
        out: list[str] = []
        for o in SUITE_OPTIONS:
            value = getattr(self, o.dest)
            if not include(o) or (value == o.parsed_default and not (always and o.repro == "always")):
                continue
            flag = pytest_flag(o.flag) if pytest else o.flag
            if o.switch:
                out.append(flag)
            for text in o.texts(value):
                out += [flag, text]
        return out


    def repro_args(self) -> list[str]:
        """The pytest options of a repro line: the table's repro="always" options, then every other option whose
        value is not its default, but those marked repro="never" (they do not change a test's verdict)."""
        first = self.args(always=True, include=lambda o: o.repro == "always")
        return first + self.args(include=lambda o: o.repro == "changed")

    def repro(self, nodeid: str, *extra: str) -> str:
        """The one-line command that reruns test `nodeid` under this context (`extra`: front-end options)."""
        return shlex.join(["pytest", nodeid, *self.repro_args(), *extra])


DEFAULT_CONTEXT = Context()  # every option at the table's default


def from_values(get: Callable[[SuiteOption], Any], *, offered: Callable[[SuiteOption], bool] = lambda o: True,
                **switches) -> Context:
    """The context of the raw values `get(option)` returns (text, a list for repeatable options, or None for
    unset; an unset option reads its environment variable), for the options the front end `offered` (the others
    keep their defaults); an invalid value raises OptionError, one line naming the option as the user spelled it."""
    values = {}
    for o in SUITE_OPTIONS:
        if not offered(o):
            continue
        raw = get(o)
        if (raw is None or (o.repeat and not raw)) and o.env:
            raw = os.environ.get(o.env) or None
        if raw is None or (o.repeat and not raw):
            continue
        values[o.dest] = o.parse(raw)
    return Context(**values, **switches)


def from_pytest(getoption: Callable[[str], Any], **switches) -> Context:
    """From the pytest plugin's options (`config.getoption`); errors name the --mc2- flag."""
    def get(o: SuiteOption):
        try:
            return getoption(pytest_flag(o.flag))
        except ValueError:  # an option pytest does not know (a front end that registers only some)
            return None
    try:
        return from_values(get, **switches)
    except OptionError as exc:
        raise OptionError(str(exc).replace("--", "--mc2-", 1)) from None


def from_namespace(namespace, **switches) -> Context:
    """From the command line's parsed options (an argparse Namespace): options the command does not have stay at
    their defaults (their environment variables are not read either: the command does not offer them)."""
    return from_values(lambda o: getattr(namespace, o.dest), offered=lambda o: hasattr(namespace, o.dest),
                       **switches)
