"""Named faults: each models one realistic way an implementation breaks the contract.

A fault exists to prove a check can fail: the project's tests run the suite's cases against the simulator
with each fault and assert that some case catches it. Validation faults come in one family per rejection
constraint (`unchecked:<constraint id>`: the check is not enforced); the rest are named one by one.

A fault is an object: its `hooks` map hook sites (conformance/hooks.py) to functions `hook(value, **context) ->
value` that hold its perturbation. The simulator's host checks and arithmetic never test a fault's name: they ask
their hooks `at(site, value, **context)` (FaultSet below applies the active faults' hooks, in registry order), so
a fault's name appears only where the fault is defined.

Where the faults are defined: this module holds the machinery, the generic faults (the `unchecked:` family, the
faults of the generic sites, and the shared faults: one bug class several operators can have) and the order rule;
each operator's own faults live in its own module (sim/<op>_faults.py), which its record points to (`faults`: a
function returning its Faults, and its `Share`s of the shared faults: the constraints a shared fault breaks in that
operator and its hooks at that operator's sites). The registry is assembled on first use (FAULTS,
RELATION_FAULTS, CONTRACT_FAULTS, ROUNDING_FAULTS are module attributes built lazily), so importing this module
imports no operator's code.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import dtypes
from ..hooks import (INT32_BOUND_EXCEEDED, ROUNDING_STEP, SIM_OUTPUTS, SITES, TRANSPOSED_X2_REJECTED,
                     RULE_CHECKED, check_site)
from ..spec import CONSTRAINTS
from ..spec.model import UNSUPPORTED_INPUT_READINGS


@dataclass(frozen=True)
class Fault:
    name: str
    violates: tuple[str, ...]  # constraint ids it breaks
    description: str
    status_check: str = "documented"  # the --status-check under which it is a violation (self-check runs it so)
    # the --unsupported-inputs reading under which it is a violation: skipping a representation rule's check while
    # computing such inputs correctly is conformant by default, a violation only of the literal reading
    unsupported_inputs: str = UNSUPPORTED_INPUT_READINGS[0]
    # "contract": the contract checks must kill it (tests/test_detection.py, the self-check); "behaviour": a
    # change the contract permits (violates nothing), seen only by differential fuzzing (`fuzz --against`);
    # "relation": a metamorphic relation must catch it (RELATION_FAULTS, tests/test_relations_unit.py);
    # "rounding": one named rounding step rounds another way: its rounding probes must catch it (ROUNDING_FAULTS,
    # tests/test_rounding_probes.py; docs/rounding-probes.md)
    kind: str = "contract"
    # hook site (conformance/hooks.py) -> hook(value, **context) -> the value the faulty implementation uses
    hooks: dict[str, Callable] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for site in self.hooks:
            check_site(site)  # a misspelt site would never fire: its fault silently untested


@dataclass(frozen=True)
class Share:
    """An operator's share of a shared fault (declared below, in `_SHARED`): the constraints the fault breaks in
    that operator and its hooks at that operator's sites. The registry appends the shares, in the operators'
    registry order, to the shared fault's `violates` and `hooks`."""

    fault: str
    violates: tuple[str, ...] = ()
    hooks: dict[str, Callable] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for site in self.hooks:
            check_site(site)


def _joined(fault: Fault, share: Share) -> Fault:
    clash = set(fault.hooks) & set(share.hooks)
    if clash:
        raise ValueError(f"fault {fault.name}: two hooks at site {sorted(clash)[0]!r}")
    return dataclasses.replace(fault, violates=fault.violates + share.violates, hooks={**fault.hooks, **share.hooks})


# ---- the generic faults' perturbations (hooks) ---------------------------------------------------------------------
def _bits(a: np.ndarray) -> np.ndarray:
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def _stale_after_rejection(outs, after_rejection, **_):
    if after_rejection and outs and outs[0]:
        first = outs[0][sorted(outs[0])[0]]  # the call right after a rejection: one bit of rank 0's first output
        if first.size:
            _bits(first).reshape(-1)[0] ^= 1
    return outs


TAIL_TILE_ROWS = 4  # the row tile of the tail-tile-rows fault (small, so the catalogue's tiny cases have tails)


def _tail_tile_rows(outs, **_):
    for rank in outs:
        for a in rank.values():
            if a is None or a.ndim < 2 or not a.size:
                continue
            rows = a.reshape(-1, a.shape[-1])
            tail = (rows.shape[0] // TAIL_TILE_ROWS) * TAIL_TILE_ROWS
            if tail < rows.shape[0]:  # rows past the last whole tile: a wrong scale in the tail-tile kernel
                rows[tail:] = (rows[tail:].astype(np.float32) * np.float32(1.125)).astype(a.dtype)
    return outs


def _nondeterministic(outs, call, **_):
    if call % 2 == 0 and outs and outs[0]:
        first = outs[0][sorted(outs[0])[0]]  # every other call, one bit of rank 0's first output
        if first.size:
            _bits(first).reshape(-1)[0] ^= 1
    return outs


# The shared faults: declared once here (name, description, hooks at generic sites); each operator that can have
# the bug adds its Share (its constraints, its hooks) in its own fault module.
_SHARED = [
    Fault("int32-max-inclusive", (),
          "Dimension bounds checked with >= INT32_MAX instead of > INT32_MAX (rejects the maximum itself).",
          hooks={INT32_BOUND_EXCEEDED: lambda over, v, limit, **_: over or v == limit}),
    Fault("reject-transposed-x2", (),
          "A transposed (non-contiguous) x2 is rejected.",
          hooks={TRANSPOSED_X2_REJECTED: lambda rejected, transposed, **_: rejected or transposed}),
    Fault("x2-transpose-ignored", (),
          "A transposed x2 is read as if its buffer were a contiguous (k, n) matrix."),
    Fault("lsb-drift", (),
          "The reduced result is one ulp too large in every 7th element (an LSB bug within any rounding bound)."),
    Fault("nondeterministic", (),
          "Every other call flips the last bit of rank 0's first output element (a race in the reduction).",
          kind="relation", hooks={SIM_OUTPUTS: _nondeterministic}),
    Fault("stale-after-rejection", (),
          "The call right after a rejected one computes with state the rejection left behind: the last bit of rank "
          "0's first output element flips.", kind="relation", hooks={SIM_OUTPUTS: _stale_after_rejection}),
    Fault("tail-tile-rows", (),
          f"Rows past the last whole {TAIL_TILE_ROWS}-row tile are scaled by 1.125 (the tail tile's kernel reads a "
          "wrong scale): a result that depends on how many rows the call has.", kind="relation",
          hooks={SIM_OUTPUTS: _tail_tile_rows}),
    Fault("rank-order-dependent", (),
          "Rank 0's partial enters the all-reduce scaled by 1 + 1/16 (a root-rank scaling step applied once too "
          "often): the result depends on which shard rank 0 holds.", kind="relation"),
]

# ---- rounding faults: one named rounding step rounds toward zero or half away from zero --------------------------
def half_away_to(x: np.ndarray, name: str) -> np.ndarray:
    """float32 values rounded to the 16-bit float dtype `name` to nearest, ties away from zero."""
    x = np.asarray(x, dtype=np.float32)
    toward = dtypes.truncate_to(x, name)
    away = toward.copy()
    inexact = toward.astype(np.float32) != x
    away.view(np.uint16)[inexact] += np.uint16(1)  # sign-magnitude: one ulp further from zero
    x64 = x.astype(np.float64)
    nearer_away = np.abs(away.astype(np.float64) - x64) <= np.abs(x64 - toward.astype(np.float64))
    return np.where(inexact & nearer_away, away, toward)


def truncate_int8(v) -> np.ndarray:
    return np.clip(np.trunc(np.asarray(v, np.float64)), -128, 127).astype(np.int8)


def half_away_int8(v) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), -128, 127).astype(np.int8)


# what a wrong rounding step rounds with, by the kind of value it makes: a 16-bit float store (x, dtype) or an
# int8 cast (v)
WRONG_ROUNDERS = {"float": {"truncate": dtypes.truncate_to, "half_away": half_away_to},
                  "int8": {"truncate": truncate_int8, "half_away": half_away_int8}}
_MODE_WORDS = {"truncate": "toward zero", "half_away": "to nearest with ties away from zero"}


def rounding_faults(step: str, *, value: str, violates: tuple[str, ...], modes=("truncate", "half_away")) -> list:
    """`round:<step>:<mode>` for each mode: the rounding step `step` ('<op>.<name>', asked at hook site
    ROUNDING_STEP) rounds with that mode instead of to nearest, ties to even; every other step is correct."""
    def hook_for(wrong):
        def hook(rounder, step: str, **_):
            return wrong if step == target else rounder
        return hook
    target = step
    return [Fault(f"round:{step}:{mode}", violates,
                  f"The {step} rounding rounds {_MODE_WORDS[mode]} instead of to nearest, ties to even (every "
                  f"other rounding step correct).", kind="rounding",
                  hooks={ROUNDING_STEP: hook_for(WRONG_ROUNDERS[value][mode])}) for mode in modes]


# The order of the named faults in FAULTS and RELATION_FAULTS: the self-check's order, `mc2-conformance faults`'
# listing and the order hooks at one site apply in. It is the catalogue's historical order, which no rule derives
# (it interleaves the operators), so it is kept here, in one place; a fault not listed (a new operator's) follows
# the listed ones in the order they are collected: the shared faults, then each registered operator's own.
_ORDER = (
    "nullptr-as-invalid", "int32-max-inclusive", "reject-transposed-x2", "x2-transpose-ignored", "dim-max-exclusive",
    "reject-nz", "reject-null-optional", "reject-null-bias", "eps-upper-0.99", "reject-empty-bs", "reject-empty-n",
    "bias-once", "drop-last-rank", "double-rank0", "rank0-data", "no-residual", "eps-outside-sqrt", "rms-wrong-axis",
    "no-gamma", "accumulate-in-output-dtype", "truncate", "lsb-drift", "scales-swapped", "bias-after-dequant",
    "fp19-skipped", "pertoken-per-column", "per-channel-per-row", "fp19-applied-to-float-scales", "nz-read-as-nd",
    "alltoall-blocks-floor", "allgather-order-reversed", "pertoken-ignored", "x3-after-allreduce", "ranks-disagree",
    "no-saturation", "inplace-no-write", "inplace-writes-normout", "code-drift", "ulp-inside-bound",
    # relation faults
    "inplace-differs", "nondeterministic", "ranks-reduce-own-order", "rank-order-dependent",
    "inplace-rejects-differently", "stale-after-rejection", "tail-tile-rows",
)


# Rules whose unchecked input still fails inside the simulator's kernel (561000 at launch). Where the document
# states no code that is a conformant rejection: such a fault is a violation of the aclnn convention only.
KERNEL_STILL_REJECTS = ("MARN-NULL-001", "MARN-SHAPE-003", "MARN-SHAPE-006", "MARN-SHAPE-007")


def _unchecked():
    for c in CONSTRAINTS:
        if c.kind == "reject":
            caught_by_kernel = c.id in KERNEL_STILL_REJECTS and c.code_source != "document"
            yield Fault(f"unchecked:{c.id}", (c.id,), f"The check for {c.id} is not enforced: {c.paraphrase}"
                        + (" (the kernel still fails: 561000 at launch, a violation of the convention only)"
                           if caught_by_kernel else ""),
                        status_check="convention" if caught_by_kernel else "documented",
                        unsupported_inputs="reject" if c.may_compute_instead else UNSUPPORTED_INPUT_READINGS[0],
                        hooks={RULE_CHECKED: _unchecked_hook(c.id)})


def _unchecked_hook(rule: str):
    def hook(checked, cid, **_):
        return checked and cid != rule
    return hook


def _named() -> list[Fault]:
    """The named faults: the shared ones with the operators' shares joined in, and each registered operator's own
    (its record's `faults`), in the order rule above."""
    from .. import operators
    faults = {f.name: f for f in _SHARED}
    for op in operators.all_operators():
        for item in (op.faults.load()() if op.faults is not None else ()):
            if isinstance(item, Share):
                if item.fault not in _SHARED_NAMES:
                    raise ValueError(f"operator {op.name} shares fault {item.fault!r}, which is not a shared fault "
                                     f"(sim/faults.py _SHARED)")
                faults[item.fault] = _joined(faults[item.fault], item)
            elif item.name in faults:
                raise ValueError(f"fault {item.name!r} defined twice (operator {op.name})")
            else:
                faults[item.name] = item
    position = {name: i for i, name in enumerate(_ORDER)}
    collected = list(faults.values())  # sorted() is stable: unlisted faults keep their collection order
    return sorted(collected, key=lambda f: position.get(f.name, len(_ORDER)))


_SHARED_NAMES = frozenset(f.name for f in _SHARED)
_BUILD = threading.RLock()
_REGISTRY: dict[str, object] | None = None


def _registry() -> dict[str, object]:
    global _REGISTRY
    if _REGISTRY is not None:
        return _REGISTRY
    with _BUILD:
        if _REGISTRY is None:
            named = _named()
            faults = {f.name: f for f in [*(f for f in named if f.kind not in ("relation", "rounding")),
                                          *_unchecked()]}
            _REGISTRY = dict(
                FAULTS=faults,
                # what the self-check kills
                CONTRACT_FAULTS=tuple(name for name, f in faults.items() if f.kind == "contract"),
                # Faults of the metamorphic relations (conformance/relations.py): each breaks a relation a correct
                # backend keeps without needing a reference. They are proven by tests/test_relations_unit.py, not
                # by the case catalogue (a case judged alone against the reference may not see them), so they are
                # kept out of FAULTS.
                RELATION_FAULTS={f.name: f for f in named if f.kind == "relation"},
                # Rounding faults: one named rounding step rounded another way (rounding_faults above). Each is
                # proven by its step's rounding probes (tests/test_rounding_probes.py), which no other case needs
                # to catch (random data meets a tie almost never), so they are kept out of FAULTS and of the
                # self-check's kill list.
                ROUNDING_FAULTS={f.name: f for f in named if f.kind == "rounding"})
        return _REGISTRY


def __getattr__(name: str):
    """FAULTS, CONTRACT_FAULTS, RELATION_FAULTS and ROUNDING_FAULTS, assembled on first use (the operators' fault
    modules)."""
    if name in ("FAULTS", "CONTRACT_FAULTS", "RELATION_FAULTS", "ROUNDING_FAULTS"):
        value = _registry()[name]
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class FaultSet(frozenset):
    """The faults injected into one simulator (a set of their names): the hooks (conformance.hooks.Hooks) its
    host checks and arithmetic ask. `at(site, value, **context)` passes `value` through the hooks the active
    faults declare for `site`, in registry order (FAULTS, RELATION_FAULTS, ROUNDING_FAULTS); an undeclared site
    raises."""

    def __new__(cls, names=()):
        self = super().__new__(cls, names)
        built = _registry()
        registry = {**built["FAULTS"], **built["RELATION_FAULTS"], **built["ROUNDING_FAULTS"]}
        unknown = sorted(n for n in self if n not in registry)
        if unknown:
            raise KeyError(f"fault {unknown[0]!r} is not in the registry (sim/faults.py FAULTS)")
        self._hooks: dict[str, list[Callable]] = {}
        for fault in registry.values():
            if fault.name in self:
                for site, hook in fault.hooks.items():
                    self._hooks.setdefault(site, []).append(hook)
        return self

    def __reduce__(self):
        return FaultSet, (tuple(sorted(self)),)

    def at(self, site: str, value, **context):
        hooks = self._hooks.get(site)
        if hooks is None:
            if site not in SITES:
                check_site(site)
            return value
        for hook in hooks:
            value = hook(value, **context)
        return value


def parse_faults(names) -> FaultSet:
    registry = _registry()
    faults, others = registry["FAULTS"], {**registry["RELATION_FAULTS"], **registry["ROUNDING_FAULTS"]}
    unknown = [n for n in names if n not in faults and n not in others]
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}; `mc2-conformance faults` lists the {len(faults)} known")
    return FaultSet(names)
