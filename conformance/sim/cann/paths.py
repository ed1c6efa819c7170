"""The path model's vocabulary: platforms, branches and their sides, and the query a decision answers.

The published implementation chooses among shape- and flag-dependent paths in its host tiling and in its
kernels (how m is cut into communication turns, the matmul's base blocks, the AddRmsNorm mode, V3's dequant
passes and low-bit stages, the HCCL buffer). Each operator's path model (its record's `path_branches` and
`path_decide`, in its own modules under sim/cann/) names those decisions as `Branch`es, each with an id, its
source location, and the condition on the operator's inputs of each `Side`; `decide(query)` gives, for one
invocation, the side every decision it meets takes. Nothing here runs a kernel: a query holds shapes, dtypes,
formats and attributes only, so the whole catalogue is placed on the paths in milliseconds (conformance.paths).

Platform facts are named options (`PLATFORMS`): the two Atlas A2 core counts the source's knowledge banks
name. Where a decision depends on code that is not published, its Branch says so (`published=False`) and how
the model bounds it (`bound`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

HARDWARE_ONLY = "hardware-only"  # a side only inputs the simulator cannot hold reach (see Side.unreached)
UNREACHABLE = "unreachable"  # a side no input of this API reaches


class UnknownPlatform(ValueError):
    """A platform name the path model does not know (one line, naming the known ones)."""


@dataclass(frozen=True)
class Platform:
    """The facts of one Atlas A2 part that the tiling reads (PlatformAscendC / the compile info)."""

    name: str
    cube_cores: int  # GetCoreNumAic()
    vector_cores: int  # GetCoreNumAiv(): two vector cores per cube core on A2
    ub_bytes: int = 192 * 1024  # unified buffer per vector core
    l1_bytes: int = 512 * 1024
    l0c_bytes: int = 128 * 1024
    l2_bytes: int = 192 * 2**20
    hccl_buffer_bytes: int = 200 * 2**20  # HCCL_BUFFSIZE's default (200 MiB); the environment can change it
    note: str = ""


PLATFORMS: tuple[Platform, ...] = (
    Platform("a2-24c", 24, 48, note="Atlas A2 with 24 AI cores (910B1/B2 class: 24 cube, 48 vector)"),
    Platform("a2-20c", 20, 40, note="Atlas A2 with 20 AI cores (910B3/B4 class: 20 cube, 40 vector)"),
)
DEFAULT_PLATFORM = PLATFORMS[0].name


def platform(name: str | None) -> Platform:
    """The platform `name` (None: DEFAULT_PLATFORM); UnknownPlatform otherwise."""
    name = name or DEFAULT_PLATFORM
    for p in PLATFORMS:
        if p.name == name:
            return p
    raise UnknownPlatform(f"unknown platform {name!r}; modelled: {', '.join(p.name for p in PLATFORMS)}")


@dataclass(frozen=True)
class Side:
    """One way a decision goes."""

    name: str  # "tail", "no_tail", "SingleN", ...
    condition: str  # when it is taken, on the operator's inputs (English, with the source's quantities)
    # why no catalogue case reaches it, if none does: "hardware-only: ..." (only inputs the simulator cannot hold)
    # or "unreachable: ..." (no input of this API); "" = a case must reach it (tests/test_paths.py)
    unreached: str = ""
    unreached_on: tuple[str, ...] = ()  # the platforms `unreached` holds on (a 24-core-only side: ("a2-20c",)); ()=all

    def reason_on(self, platform: str) -> str:
        """The stated reason this side need not be reached on `platform` ("" where a case must reach it)."""
        return self.unreached if not self.unreached_on or platform in self.unreached_on else ""


@dataclass(frozen=True)
class Branch:
    """One shape- or flag-dependent decision of the published implementation."""

    id: str  # "MARN-ARN-MODE", "COMM-TAIL", ...: stable, used in reports and diffs
    stage: str  # "host tiling" or "kernel"
    decision: str  # what is decided, in English
    sides: tuple[Side, ...]
    source: str  # "path:line" in hicann/ops-transformer at the baseline c29bc10 (or "repo@rev path:line")
    operators: tuple[str, ...]  # the operators' short names it applies to ("marn", "marn_inplace", "v3")
    # (revision name, "path:line") where a newer revision has it elsewhere; a revision not named: as the baseline
    moved: tuple[tuple[str, str], ...] = ()
    revisions: tuple[str, ...] = ()  # the revisions that have this decision at all (empty: every modelled one)
    published: bool = True  # False: decided in code that is not published (then `bound` says how it is modelled)
    bound: str = ""
    platform_dependent: bool = False  # the side depends on the platform's core counts or buffer sizes

    def side(self, name: str) -> Side:
        for s in self.sides:
            if s.name == name:
                return s
        raise KeyError(f"branch {self.id} has no side {name!r} (sides: {', '.join(s.name for s in self.sides)})")

    def source_at(self, revision: str) -> str:
        """The decision's location at `revision` (the baseline's where the reading found it unmoved)."""
        return dict(self.moved).get(revision, self.source)

    def present_at(self, revision: str) -> bool:
        return not self.revisions or revision in self.revisions


@dataclass(frozen=True)
class PathQuery:
    """What a decision is taken on: one invocation's arguments as shapes (no data)."""

    op: str  # the operator's aclnn name
    # argument name -> an object with .shape, .dtype and .format (casegen TensorSpec or protocol TensorArg), or None
    tensors: Mapping[str, Any]
    attrs: Mapping[str, Any]
    world_size: int
    revision: str  # sim/cann/revisions name
    platform: Platform = field(default_factory=lambda: PLATFORMS[0])

    def shape(self, name: str) -> tuple[int, ...] | None:
        t = self.tensors.get(name)
        return None if t is None else tuple(int(d) for d in t.shape)

    def dtype(self, name: str) -> str | None:
        t = self.tensors.get(name)
        return None if t is None else t.dtype

    def format(self, name: str) -> str | None:
        t = self.tensors.get(name)
        return None if t is None else getattr(t, "format", "ND")


def check_decision(branches: tuple[Branch, ...], taken: Mapping[str, str]) -> None:
    """Raise ValueError if a decision names a branch or side that `branches` does not declare (a model bug)."""
    sides = {b.id: {s.name for s in b.sides} for b in branches}
    for bid, side in taken.items():
        if side not in sides.get(bid, ()):
            raise ValueError(f"decided {bid}={side!r}, which it does not declare")
