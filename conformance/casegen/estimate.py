"""What a case costs before it runs: host memory on the simulator, time, and the hardware limits it crosses.

Computed from the case's tensor specs and world size alone (nothing is materialised), so a backend that holds
every rank's tensors in host memory (the simulators, torch-cpu) can decline a case it cannot hold before the
judge draws a single input (judge.run_case asks `backend.capacity_reason(estimate)`).

Host memory on the simulator, the model:
    peak = SIM_BASE_BYTES + world x (sum of one rank's tensor bytes, outputs included)
           + max(SIM_TEMP_BYTES_PER_OUTPUT_ELEMENT x m x n, SIM_TEMP_BYTES_PER_WEIGHT_ELEMENT x k x n)
The tensor term is exact (the materialised arrays); the base is the interpreter with the suite imported; the
temporaries are the row-blocked fp32 sums and checks over one rank's (m, n) output or, in the product phase
before them, the fp32 copy of one rank's (k, n) weight, whichever is larger. Calibrated on bench/bench_memory.py's measurements (bench/memory_results.json,
"after-blas-samples", each case in a fresh process, ru_maxrss): the 8-rank tensor-parallel layer
b4 s1024 k128 n8192 fp16 peaks at 1,768 MiB, 4 ranks 998, 2 ranks 614, 1 rank 424 MiB. Worked, for 8 ranks:
one rank holds x1 4096x128 (1 MiB) + x2 128x8192 (2 MiB) + residual, y, normOut 4096x8192 (3 x 64 MiB) + bias,
gamma (2 x 16 KiB) = 195.03 MiB; x 8 = 1,560.3 MiB; + base 44 + 5.125 B x 32 Mi = 164 MiB -> 1,768.3 MiB
(measured 1,768.1). The same constants give 424.0 / 616.1 / 1,000.1 MiB for 1 / 2 / 4 ranks (measured 423.5 /
613.8 / 997.7). The weight term is calibrated on a weight-heavy decode case (see its constant).

Time: on hardware, the device's matmul at DEVICE_FLOPS plus the all-reduce at ALLREDUCE_BYTES_PER_S (both
round figures, named and UNCONFIRMED: no Atlas A2 datasheet was read for them); the host then checks the
outputs against the fp32 reference, and on the simulator the host computes everything: HOST_FLOPS for the
products, HOST_OUTPUT_ELEMENTS_PER_S for the elementwise work per rank, HOST_INPUT_ELEMENTS_PER_S to draw
the inputs, all measured on this project's 2-core machines (the same bench file, fp16: 4.27 s for 1 rank, 17.06
s for 8 ranks of the same layer; the difference, 12.79 s over 7 x 32 Mi more output elements, gives 18.4 M
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
SIM_BASE_BYTES = 44 * MIB  # import_rss of the bench's child process, 44.2 to 44.5 MiB
SIM_TEMP_BYTES_PER_OUTPUT_ELEMENT = 5.125  # (1,768.1 - 44 - 1,560.3) MiB / (4096 x 8192) elements
SIM_TEMP_BYTES_PER_WEIGHT_ELEMENT = 4.0  # one rank's (k, n) weight widened to fp32 while its product is formed

# ---- time (hardware figures UNCONFIRMED round numbers; host figures measured, see the docstring) -----------
DEVICE_FLOPS = {"float16": 280e12, "bfloat16": 280e12, "int8": 560e12}  # cube peak per NPU, by input dtype
ALLREDUCE_BYTES_PER_S = 50e9  # effective per-rank bandwidth of a ring all-reduce on one node
HOST_FLOPS = 28e9
HOST_OUTPUT_ELEMENTS_PER_S = 18.4e6
HOST_INPUT_ELEMENTS_PER_S = 100e6

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
        return f"not run here: needs {gib(self.sim_host_bytes)} GiB (limit {gib(limit_bytes)} GiB)"

    def describe(self) -> str:
        facts = [f"simulator {gib(self.sim_host_bytes)} GiB, ~{self.host_seconds:.0f} s host",
                 f"hardware ~{self.device_seconds * 1e3:.2f} ms device + the host check"]
        if self.crosses_hccl_buffer:
            facts.append(f"all-reduce {self.allreduce_bytes / MIB:.0f} MiB > HCCL buffer 200 MiB")
        if self.int32_overflows:
            facts.append("over INT32_MAX: " + ", ".join(self.int32_overflows))
        return "; ".join(facts)


def gib(n_bytes: float) -> str:
    """Bytes as GiB, one decimal (two below 1 GiB): '1.73', '12.5'."""
    v = n_bytes / GIB
    return f"{v:.2f}" if v < 1 else f"{v:.1f}"


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
    # the output phase (sums and checks over (m, n)) and the product phase (the widened weight) come one after
    # the other: the larger of the two sets the peak
    temps = max(SIM_TEMP_BYTES_PER_OUTPUT_ELEMENT * m * n, SIM_TEMP_BYTES_PER_WEIGHT_ELEMENT * k * n)
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

