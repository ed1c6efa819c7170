"""Busy cores (`--busy-cores N`): while each fused invocation runs, a second stream keeps N AI cores busy.

What a rank of a hardware backend does per fused invocation, once every rank accepted the call (after the
pre-flight, so a rejected case launches nothing):
1. launch `BusyWork.launches` matmuls of `BusyWork.m x k x n` on its own second stream, asynchronously, that
   stream limited to N cube cores (the runtime's stream resource limit: hicann/runtime@681ef761
   docs/zh/api_ref/03_runtime_configuration.md:351-405 aclrtSetStreamResLimit with ACL_RT_DEV_RES_CUBE_CORE,
   25-02_Enumerations.md:1280-1283, applied to the launching thread by aclrtUseStreamResInCurrentThread, :459-505,
   and taken back by aclrtUnuseStreamResInCurrentThread, :510-555; torch_npu wraps the same limit as
   torch.npu.set_stream_limit(stream, cube_num=N), Ascend/pytorch@9e73e708 torch_npu/npu/npu_config.py:261-279,
   and applies it to every launch on that stream, torch_npu/csrc/core/npu/NPUStream.cpp:1003-1014);
2. launch the MC2 operator on the main stream;
3. wait for the main stream with no timeout of its own (aclrtSynchronizeStreamWithTimeout(-1), "wait forever",
   06_stream_management.md:651), so a call that does not finish ends by the rank engine's deadline, as category
   `timeout`, with the stuck rank's stack (not as a sync-timeout status that would read as a wrong status);
4. wait for the busy stream.

What this proves (on hardware): that each MC2 call is made, and judged, while up to N cube cores are held by
other work on the same device; an MC2 kernel that assumes it owns every core (a cross-core barrier over a
block count equal to the core count, say) then cannot finish, or finishes late, and the run reports it as
`timeout` at the engine's deadline instead of hanging; a call that finishes is judged as any other (values
included), so contention that corrupts results is caught too.
What it cannot prove without hardware (the recording stand-ins prove the calls only, in order, with N): that
the runtime schedules the busy matmuls on N cores at the same time as the MC2 kernel (the limit caps the busy
stream; overlap depends on the runtime and on how long each side runs: `BusyWork` is sized to outlast a layer-
sized MC2 call, not measured); that a hang would appear at all on a given CANN. A run with --busy-cores that
passes says: no hang was seen with this N and this busy work, nothing more.

N is an option, not a fact: an Atlas A2 part has 20 or 24 cube cores (conformance/sim/cann/paths.py PLATFORMS);
N = 0 is off, and N may be at most options.MAX_BUSY_CORES so that at least one core of the smaller part is free.
This module holds only the description (pytest-free, no vendor import); each backend launches it its own way.
"""

from __future__ import annotations

from dataclasses import dataclass

CUBE_CORE = 0  # aclrtDevResLimitType ACL_RT_DEV_RES_CUBE_CORE (hicann/runtime 25-02_Enumerations.md:1281)
WAIT_FOREVER = -1  # aclrtSynchronizeStreamWithTimeout's timeout for "no timeout" (06_stream_management.md:651)


@dataclass(frozen=True)
class BusyWork:
    """The busy operator: `launches` fp16 matmuls (m, k) @ (k, n) on the busy stream, per invocation.

    A modelling choice, named and unmeasured: 4096^3 is 2 * 4096^3 = 137.4 GFLOP per launch. Assuming (not a
    published or measured figure) about 10 TFLOPS fp16 per cube core, one launch on 4 cores takes about
    137.4e9 / (4 * 10e12) = 3.4 ms and 16 launches about 55 ms per invocation, well beyond the suite's layer-
    sized MC2 calls; with N = 19 (the most allowed), 16 * 137.4e9 / (19 * 10e12) = 11.6 ms. The first hardware run
    should check the overlap (a profile of one invocation) and resize this if the busy work ends first."""

    cores: int
    m: int = 4096
    k: int = 4096
    n: int = 4096
    dtype: str = "float16"
    launches: int = 16

    def __post_init__(self):
        check_cores(self.cores)


class BusyCoresError(ValueError):
    """A bad --busy-cores value (one line)."""


def check_cores(cores: int) -> int:
    """`cores` if it is a busy-core count this suite accepts (0: off); BusyCoresError otherwise."""
    from ..options import MAX_BUSY_CORES  # the option's own limit (the option table imports no backend)
    if isinstance(cores, bool) or not isinstance(cores, int) or not 0 <= cores <= MAX_BUSY_CORES:
        raise BusyCoresError(f"--busy-cores {cores!r}: expected a number of AI cores from 0 (off) to "
                             f"{MAX_BUSY_CORES}")
    return cores


def work_for(cores: int) -> BusyWork | None:
    """The busy work of `cores` busy cores; None when off (0)."""
    return BusyWork(cores) if check_cores(cores) else None
