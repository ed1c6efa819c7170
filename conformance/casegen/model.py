"""Cases as data: every case is a frozen record that names the constraints it covers.

A case holds no tensor data: `casegen.inputs.materialise` draws the values from a seed derived from the
run seed and the case id, so any single case can be rebuilt alone, on any xdist worker, identically.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from ..spec.model import VALID_WORLD_SIZES  # noqa: F401  (re-exported: casegen users import it from here)

PROFILES = ("smoke", "signoff", "full")  # each profile includes the ones before it

# Tensor layouts a case can ask for (how the view relates to its buffer):
CONTIGUOUS = "contiguous"
TRANSPOSED = "transposed"  # view of a contiguous buffer with the last two axes swapped
STRIDED = "strided"  # every other element of the last axis of a twice-as-wide buffer
NZ = "nz"  # a (k, n) view stored as the FRACTAL_NZ tiling of the (k, n) matrix
NZ_TRANSPOSED = "nz_transposed"  # a (k, n) view stored as the FRACTAL_NZ tiling of the (n, k) matrix
NZ_3D = "nz_3d"  # invalid on purpose: the NZ tiling with its first two axes merged (3-D storage)


@dataclass(frozen=True)
class Shape:
    """A matmul's shape as the documents name it: x1 (b, s, k) @ x2 (k, n), m = b * s rows. In a case, k is one
    rank's share; in perf mode (perf.py) the layer's whole k, split row-parallel over the ranks. `profile`: the
    smallest profile whose cases use it (where the shape decides it)."""
    name: str
    b: int
    s: int
    k: int
    n: int
    profile: str = ""

    @property
    def m(self) -> int:
        return self.b * self.s


@dataclass(frozen=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]
    values: str  # distribution name understood by casegen.inputs ("output" for output buffers)
    layout: str = CONTIGUOUS
    format: str = "ND"


@dataclass(frozen=True)
class Case:
    id: str
    op: str
    world_size: int
    tensors: tuple[tuple[str, TensorSpec | None], ...]  # C argument order; None is a null pointer
    attrs: tuple[tuple[str, Any], ...]
    rejects: bool  # the case must be rejected; which code and phase are allowed comes from the catalogue
    covers: tuple[str, ...]
    kind: str  # "valid" | "invalid" | "exact"
    profile: str  # the smallest profile that contains the case
    shape_only: bool = False
    dtype: str = ""  # the case's headline dtype, for ids and reports
    notes: str = ""
    params: tuple[tuple[str, Any], ...] = field(default_factory=tuple)  # descriptive, for reports
    origin: str = "catalogue"  # "catalogue" | "regression" (a frozen fuzz finding, conformance/data/regressions.json)
    fixed_seed: int | None = None  # regressions replay the exact inputs they were found with

    @property
    def tensor_map(self) -> dict[str, TensorSpec | None]:
        return dict(self.tensors)

    @property
    def attr_map(self) -> dict[str, Any]:
        return dict(self.attrs)

    def in_profile(self, profile: str) -> bool:
        return PROFILES.index(self.profile) <= PROFILES.index(profile)

    @property
    def cost(self) -> int:
        """Elements the case moves (0 for shape-only): a cheap ordering key, not a timing."""
        if self.shape_only:
            return 0
        total = 0
        for _, spec in self.tensors:
            if spec is not None:
                n = 1
                for d in spec.shape:
                    n *= d
                total += n
        return total * self.world_size

    def seed(self, run_seed: int) -> int:
        """Stable per-case seed (crc32 is stable across processes, unlike hash())."""
        if self.fixed_seed is not None:
            return self.fixed_seed
        return zlib.crc32(f"{run_seed}/{self.id}".encode())


def selects_world_size(case: Case, world_sizes: tuple[int, ...]) -> bool:
    """Valid world sizes run when selected; an unsupported world size (a rejection case) runs when the
    selection includes a world size at least as large, i.e. when that many devices are in play."""
    if case.world_size in VALID_WORLD_SIZES:
        return case.world_size in world_sizes
    return bool(world_sizes) and case.world_size <= max(world_sizes)
