"""What a case costs before it runs: host memory on the simulator, time, and the hardware limits it crosses.

Computed from the case's tensor specs and world size alone (nothing is materialised), so a backend that holds
every rank's tensors in host memory (the simulators, torch-cpu) can decline a case it cannot hold before the
judge draws a single input (judge.run_case asks `backend.capacity_reason(estimate)`).

Host memory on the simulator, the model:
    peak = SIM_BASE_BYTES + world x (one rank's tensor bytes, outputs included)
           + out x m x n + widened x world x (m x k + k x n)
The tensor term is exact (the materialised arrays); the base is the interpreter with the suite imported; the
temporaries are the work over one rank's (m, n) output (row-blocked sums, reference, bounds) and the widened
copies of every rank's x1 and x2 the simulator and the reference multiply. Their two coefficients depend on
the input dtype (SIM_TEMPS): the float path widens to float32, the int8 path's reference works in float64
(reference/v3.py, its docstring) and keeps several (m, n) float64 arrays.
Calibrated on bench/bench_memory.py (each case in a fresh process, peak = ru_maxrss; bench/memory_results.json,
labels "after-blas-samples" and "llm"). Worked, the 8-rank tensor-parallel layer b4 s1024 k128 n8192 fp16:
one rank holds x1 4096x128 (1 MiB) + x2 128x8192 (2 MiB) + residual, y, normOut 4096x8192 (3 x 64 MiB) + bias,
gamma (2 x 16 KiB) = 195.03 MiB; x 8 = 1,560.3 MiB; + base 52 + 3.6 B x 32 Mi (115.2 MiB) + 4.3 B x 8 x
(0.5 Mi + 1 Mi) (51.6 MiB) = 1,779.1 MiB (measured 1,768.1 with a 44 MiB base, 1,773.0 with today's 52).
Measured against the model (MiB, model / measured): float inputs: that layer at 1 rank 435 / 435, a decode
call k12288 n12288 at 4 ranks m=1 3,682 / 3,514 and m=256 3,839 / 3,845, a prefill k2048 n4096 m=8192 at 2 ranks
854 / 837, a decode k2048 n4096 m=1 153 / 154; int8 inputs: m=1 k12288 n12288 4 ranks 5,238 / 2,935 (the int8
m=1 path widens less: the model over-estimates it), m=8192 k2048 n4096 2 ranks 2,628 / 2,449, m=256 k1024
n4096 4 ranks 276 / 238, m=256 k24576 n12288 2 ranks 5,545 / 5,257, m=1 k2048 n4096 2 ranks 196 / 207.
Over-estimates are the safe side: a case declined that would have fit.

Time: on hardware, the device's matmul at DEVICE_FLOPS plus the all-reduce at ALLREDUCE_BYTES_PER_S (both
round figures, named and UNCONFIRMED: no Atlas A2 datasheet was read for them); the host then checks the
outputs against the fp32 reference, and on the simulator the host computes everything: HOST_FLOPS for the
products, HOST_OUTPUT_ELEMENTS_PER_S for the elementwise work per rank, HOST_INPUT_ELEMENTS_PER_S to draw
and widen the inputs, all measured on this project's 2-core machines (the same bench file, fp16: 4.27 s for
1 rank, 17.06 s for 8 ranks of the same layer; the difference, 12.79 s over 7 x 32 Mi more output elements, gives 18.4 M
elements/s; the rest of the 1-rank case, 2.44 s for 2 x 4096 x 1024 x 8192 flops, 28 GFLOP/s).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import dtypes, operators
from .model import NZ, NZ_TRANSPOSED, STRIDED, Case, TensorSpec

MIB = 2**20
GIB = 2**30
INT32_MAX = 2**31 - 1

# ---- the simulator's host memory (calibrated: see the module docstring) ------------------------------------
SIM_BASE_BYTES = 52 * MIB  # import_rss of the bench's child process today (52.0 to 52.3 MiB)


@dataclass(frozen=True)
class Temps:
    """Bytes of temporaries per output element of one rank, and per input element (x1, x2) of every rank."""

    per_output_element: float
    per_input_element: float


# by x1's dtype: float inputs (fitted: the 1- and 8-rank layers and the k12288 n12288 decode calls), int8 inputs
# (fitted: m=256 k24576 n12288 and m=8192 k2048 n4096, the largest of each term)
SIM_TEMPS = {"float": Temps(3.6, 4.3), "int8": Temps(63.0, 8.0)}

# ---- time (hardware figures UNCONFIRMED round numbers; host figures measured, see the docstring) -----------
DEVICE_FLOPS = {"float16": 280e12, "bfloat16": 280e12, "int8": 560e12}  # cube peak per NPU, by input dtype
ALLREDUCE_BYTES_PER_S = 50e9  # effective per-rank bandwidth of a ring all-reduce on one node
HOST_FLOPS = 28e9
HOST_OUTPUT_ELEMENTS_PER_S = 18.4e6
# the decode call m=1 k12288 n12288 at 4 ranks (604 M input elements, nothing else of size) took 35.4 s while
# the machine ran 4.8x slower than for the figures above (the 8-rank layer: 82.6 s against 17.1 s): ~80 M/s
HOST_INPUT_ELEMENTS_PER_S = 80e6

HCCL_BUFFER_BYTES = 200 * MIB  # HCCL_BUFFSIZE's default (sim/cann/paths.py Platform.hccl_buffer_bytes)


def spec_bytes(spec: TensorSpec) -> int:
    """Bytes a materialised tensor occupies: its buffer (a strided view's buffer is twice as wide; an NZ
    tensor's storage pads its tiles to 16 rows and 16 or 32 columns)."""
    itemsize = dtypes.np_dtype(spec.dtype).itemsize
    numel = 1
    for d in spec.shape:
        numel *= d
    if spec.layout == STRIDED:
        numel *= 2
    elif spec.layout in (NZ, NZ_TRANSPOSED) and len(spec.shape) >= 2:
        rows, cols = spec.shape[-2:] if spec.layout == NZ else spec.shape[-1:-3:-1]
        c0 = 32 if itemsize == 1 else 16
        numel = numel // (rows * cols or 1) * (-(-rows // 16) * 16) * (-(-cols // c0) * c0)
    return numel * itemsize


@dataclass(frozen=True)
class Estimate:
    """What one case costs; m, k, n are one rank's matmul (k its share of the layer)."""

    case_id: str
    world_size: int
    m: int
    k: int
    n: int
    input_dtype: str
    rank_bytes: int  # one rank's tensors, outputs included
    sim_host_bytes: int  # peak host memory of the in-process simulator (the model above)
    allreduce_bytes: int  # one rank's share of the all-reduce: the (m, n) partial in the output dtype
    device_seconds: float
    host_seconds: float  # the simulator's whole case; on hardware, an upper bound of the host's check
    shape_only: bool = False

    @property
    def flops(self) -> int:
        """Multiply-adds x 2 of every rank's product."""
        return 2 * self.m * self.k * self.n * self.world_size

    @property
    def int32_overflows(self) -> tuple[str, ...]:
        """The 32-bit products this case overflows (an implementation that multiplies them in int32 breaks)."""
        out = []
        for name, value in (("m*n", self.m * self.n), ("m*k", self.m * self.k), ("k*n", self.k * self.n),
                            ("m*n bytes", self.allreduce_bytes)):
            if value > INT32_MAX:
                out.append(name)
        return tuple(out)

    @property
    def crosses_hccl_buffer(self) -> bool:
        """The all-reduced partial is larger than HCCL's default buffer: the communication must go in turns."""
        return self.allreduce_bytes > HCCL_BUFFER_BYTES

    def exceeds(self, limit_bytes: int) -> str | None:
        """The one-line reason a backend with `limit_bytes` of host memory declines the case, or None."""
        if self.shape_only or self.sim_host_bytes <= limit_bytes:
            return None
        return (f"not run here: needs {gib(self.sim_host_bytes)} GiB (limit {gib(limit_bytes)} GiB); on hardware "
                f"~{duration(self.device_seconds)} on the device, host check under ~{duration(self.host_seconds)}")

    def describe(self) -> str:
        facts = [f"simulator {gib(self.sim_host_bytes)} GiB, ~{duration(self.host_seconds)} host",
                 f"hardware ~{duration(self.device_seconds)} device + the host check"]
        if self.crosses_hccl_buffer:
            facts.append(f"all-reduce {self.allreduce_bytes / MIB:.0f} MiB > HCCL buffer 200 MiB")
        if self.int32_overflows:
            facts.append("over INT32_MAX: " + ", ".join(self.int32_overflows))
        return "; ".join(facts)


def gib(n_bytes: float) -> str:
    """Bytes as GiB, one decimal (two below 1 GiB): '1.73', '12.5'."""
    v = n_bytes / GIB
    return f"{v:.2f}" if v < 1 else f"{v:.1f}"


def duration(seconds: float) -> str:
    """'0.16 us', '220 us', '2.4 ms', '252 ms', '12 s', '41 min', '2.6 h'."""
    if seconds < 1e-3:
        us = seconds * 1e6
        return f"{us:.2g} us" if us < 10 else f"{us:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2g} ms" if seconds < 0.01 else f"{seconds * 1e3:.0f} ms"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def dims(case: Case) -> tuple[int, int, int]:
    """(m, k, n) of one rank's matmul, from the operator record: m rows and n columns of its output (shape_arg),
    k the last dimension of its first row argument (x1)."""
    record = operators.get(case.op)
    t = case.tensor_map
    out, x1 = t.get(record.shape_arg), t.get(record.row_args[0])
    if out is None or x1 is None or not out.shape or not x1.shape:
        return 0, 0, 0
    m = 1
    for d in out.shape[:-1]:
        m *= d
    return m, x1.shape[-1], out.shape[-1]


def of_case(case: Case) -> Estimate:
    """The estimate of `case` (a shape-only case costs the base only: nothing is allocated)."""
    record = operators.get(case.op)
    t = case.tensor_map
    m, k, n = dims(case)
    w = case.world_size
    x1 = t.get(record.row_args[0])
    out = t.get(record.shape_arg)
    in_dtype = x1.dtype if x1 is not None else "float16"
    out_item = dtypes.np_dtype(out.dtype).itemsize if out is not None else 2
    allreduce = m * n * out_item
    if case.shape_only:
        return Estimate(case.id, w, m, k, n, in_dtype, 0, SIM_BASE_BYTES, allreduce, 0.0, 0.0, shape_only=True)
    rank_bytes = sum(spec_bytes(s) for _, s in case.tensors if s is not None)
    temps_of = SIM_TEMPS["int8" if in_dtype == "int8" else "float"]
    temps = temps_of.per_output_element * m * n + temps_of.per_input_element * w * (m * k + k * n)
    host_bytes = int(SIM_BASE_BYTES + w * rank_bytes + temps)
    rate = DEVICE_FLOPS.get(in_dtype, DEVICE_FLOPS["float16"])
    device = 2 * m * k * n / rate + (2 * (w - 1) / w * allreduce / ALLREDUCE_BYTES_PER_S if w > 1 else 0.0)
    input_elements = sum(_numel(s) for name, s in case.tensors if s is not None and s.values != "output")
    host = (2 * m * k * n * w / HOST_FLOPS + w * m * n / HOST_OUTPUT_ELEMENTS_PER_S
            + w * input_elements / HOST_INPUT_ELEMENTS_PER_S)
    return Estimate(case.id, w, m, k, n, in_dtype, rank_bytes, host_bytes, allreduce, device, host)


def _numel(spec: TensorSpec) -> int:
    n = 1
    for d in spec.shape:
        n *= d
    return n

