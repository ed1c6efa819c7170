"""The backend protocol: one invocation in, one result per rank out. Free of pytest by design.

A backend is any object with
    name: str
    describe() -> dict[str, str]                  # environment facts for reports (versions, device); its "target"
                                                  # says what it runs on (TARGET_HARDWARE, TARGET_SIMULATOR, ...)
    unsupported_reason(inv: Invocation) -> str | None
    invoke(inv: Invocation) -> list[RankResult]   # one entry per rank, in rank order

Optional capabilities (a backend that lacks one declares it by not having the method; the suite then
records "not supported by this backend" instead of failing):
    invoke_chain(inv) -> list[RankResult]       # the benchmark chain: the same computation as separate
                                                # operators (MARN: matmul (+bias) -> all-reduce -> AddRmsNorm;
                                                # V3: quantised matmul + dequant (+x3) -> all-reduce, low-bit as its
                                                # documented steps), outputs under the same names
    timed(inv, *, chain: bool, warmup: int, iterations: int) -> Timing
                                                # latencies of the fused operator (or the chain) per iteration
    capacity_reason(estimate) -> str | None     # a backend that holds every rank's tensors in host memory: why
                                                # it cannot hold a case (casegen/estimate.py's Estimate), asked
                                                # before any input is drawn; the case is then "hardware_only".
                                                # Hardware backends declare none: never limited.

Tensors are `TensorArg`s: dtype, view shape, strides (in elements), format, storage shape, and the data as
a numpy array (None for a shape-only descriptor). A null pointer is `None` in place of the TensorArg.
Outputs are passed as descriptors too (so a backend can validate them); the backend returns the data it
wrote. For the inplace variant the backend returns the residual buffer after the call under "residual".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

# aclnn status codes (device-facts 6)
ACLNN_SUCCESS = 0
ACLNN_ERR_PARAM_NULLPTR = 161001
ACLNN_ERR_PARAM_INVALID = 161002
ACLNN_ERR_RUNTIME_ERROR = 361001
ACLNN_ERR_INNER = 561000

STATUS_NAMES = {
    0: "ACLNN_SUCCESS",
    161001: "ACLNN_ERR_PARAM_NULLPTR",
    161002: "ACLNN_ERR_PARAM_INVALID",
    361001: "ACLNN_ERR_RUNTIME_ERROR",
    561000: "ACLNN_ERR_INNER",
}

def status_name(code: int) -> str:
    return f"{code} ({STATUS_NAMES.get(code, 'unknown')})"


def span_elements(shape: Sequence[int], strides: Sequence[int]) -> int:
    """Elements of storage a view with non-negative element strides reaches, first to last (0 if empty)."""
    if any(d == 0 for d in shape):
        return 0
    return 1 + sum((d - 1) * s for d, s in zip(shape, strides))


@dataclass(frozen=True)
class TensorArg:
    dtype: str
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # in elements, like aclCreateTensor's `stride`
    format: str = "ND"  # "ND" | "FRACTAL_NZ"
    storage_shape: tuple[int, ...] | None = None  # None: same as the contiguous extent of the view
    data: np.ndarray | None = None  # None: shape-only descriptor (never allocated)

    @staticmethod
    def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
        strides, acc = [], 1
        for dim in reversed(shape):
            strides.append(acc)
            acc *= max(int(dim), 1)
        return tuple(reversed(strides))

    @classmethod
    def transposed_strides(cls, shape: Sequence[int]) -> tuple[int, ...]:
        """Strides of a (.., r, c) view of a contiguous (.., c, r) buffer: the last two axes swapped."""
        shape = tuple(shape)
        base = cls.contiguous_strides(shape[:-2] + (shape[-1], shape[-2]))
        return base[:-2] + (base[-1], base[-2])

    @classmethod
    def from_array(cls, arr: np.ndarray, dtype: str, *, format: str = "ND",
                   storage_shape: tuple[int, ...] | None = None) -> "TensorArg":
        item = arr.dtype.itemsize
        strides = tuple(s // item for s in arr.strides) if arr.size else cls.contiguous_strides(arr.shape)
        return cls(dtype, tuple(arr.shape), strides, format, storage_shape, arr)

    @classmethod
    def descriptor(cls, dtype: str, shape: Sequence[int], *, strides: Sequence[int] | None = None,
                   format: str = "ND") -> "TensorArg":
        shape = tuple(int(d) for d in shape)
        return cls(dtype, shape, tuple(strides) if strides else cls.contiguous_strides(shape), format)

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def span(self) -> int:
        """Elements of storage the view reaches (its strides applied to its shape)."""
        return span_elements(self.shape, self.strides)

    @property
    def is_contiguous(self) -> bool:
        if self.numel == 0:
            return True
        expected = self.contiguous_strides(self.shape)
        return all(st == ex for st, ex, d in zip(self.strides, expected, self.shape) if d != 1)

    @property
    def is_last_two_transposed(self) -> bool:
        """A (.., r, c) view of a contiguous (.., c, r) buffer: the one non-contiguity aclnn allows for x2."""
        if len(self.shape) < 2 or self.numel == 0:
            return False
        want = self.transposed_strides(self.shape)
        return all(st == w for st, w, d in zip(self.strides, want, self.shape) if d != 1)


@dataclass(frozen=True)
class Invocation:
    op: str
    world_size: int
    ranks: tuple[Mapping[str, TensorArg | None], ...]  # per rank: every tensor argument by its C name
    attrs: Mapping[str, Any]  # scalar arguments by C name: epsilon, reduceOp, commTurn, streamMode
    shape_only: bool = False  # only GetWorkspaceSize is called; no data exists
    case_id: str = ""
    devices: tuple[int, ...] = ()  # device ids leased for this invocation (rank r uses devices[r]); () if none


# The host memory a backend that holds every rank's tensors (sim, sim-process, sim-cann, torch-cpu) gives one
# case by default: the project's target for a pytest worker's peak RSS (README, "peak RSS per pytest worker":
# target 2 GB), which the heaviest signoff case (the 8-rank layer, 1,768 MiB measured) keeps.
HOST_MEMORY_LIMIT_BYTES = 2 * 2**30


# What a backend runs on, as its describe()["target"] says: reports label every run that is not the hardware
# under sign-off ("simulator run: not a hardware sign-off") by this declaration, never by the backend's name.
TARGET_HARDWARE = "hardware"  # the CANN libraries on NPUs (aclnn, torch-npu)
TARGET_SIMULATOR = "simulator"  # a model of the device on the CPU (sim, sim-process, sim-cann)
TARGET_CPU_REFERENCE = "cpu reference"  # an independent correct implementation on the CPU (torch-cpu)
NOT_HARDWARE = (TARGET_SIMULATOR, TARGET_CPU_REFERENCE)

PHASE_WORKSPACE = "workspace"  # the status came from GetWorkspaceSize
PHASE_LAUNCH = "launch"  # GetWorkspaceSize returned 0; the launch call (tiling, kernel) returned the status

# Which interface answered a call (RankResult.answered_by). A client library (torch_npu's op_plugin, MindSpeed)
# checks some arguments itself and raises before aclnn is reached: such a rejection carries no aclnn status, so
# the expectation layer judges a document-promised code only where aclnn answered.
ANSWERED_BY_ACLNN = "aclnn"  # the aclnn operator's two-phase API (or a model of it: the simulators)
ANSWERED_BY_TORCH_NPU = "torch_npu"  # torch_npu / op_plugin's own check, before aclnn
ANSWERED_BY_MINDSPEED = "mindspeed"  # MindSpeed's own check, before aclnn
ANSWERED_BY_UNKNOWN = ""  # the backend cannot tell (an unstructured error): judged as if aclnn answered
ANSWERED_BEFORE_ACLNN = (ANSWERED_BY_TORCH_NPU, ANSWERED_BY_MINDSPEED)


@dataclass
class RankResult:
    status: int
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    message: str = ""  # the backend's own explanation (validation message, log tail)
    phase: str = ""  # PHASE_WORKSPACE or PHASE_LAUNCH for a non-success status; "" when not known
    # who answered (ANSWERED_BY_*): backends that call or model aclnn itself keep the default; the torch_npu
    # backend names the client library whose own check raised before aclnn
    answered_by: str = ANSWERED_BY_ACLNN


@dataclass
class Timing:
    """Latencies of repeated invocations, in seconds, and the clock that measured them."""

    seconds: list[float]
    clock: str  # "device events" (aclrtEvent / torch.npu.Event) or "wall clock" (simulators)


class Backend(Protocol):
    name: str

    def describe(self) -> dict[str, str]: ...

    def unsupported_reason(self, inv: Invocation) -> str | None: ...

    def invoke(self, inv: Invocation) -> list[RankResult]: ...


class RankFailure(Exception):
    """A rank did not answer: `kind` is "timeout" (past the invocation's deadline) or "crash" (the rank's
    process died). Raised by process-based backends; the judge turns it into a failure of that category."""

    def __init__(self, kind: str, rank: int, detail: str, last_output: str = ""):
        self.kind, self.rank, self.detail, self.last_output = kind, rank, detail, last_output
        tail = f"\n  last output of rank {rank}:\n" + "\n".join(f"    {ln}" for ln in last_output.splitlines()) \
            if last_output.strip() else f" (rank {rank} printed nothing)"
        super().__init__(f"{detail}{tail}")
