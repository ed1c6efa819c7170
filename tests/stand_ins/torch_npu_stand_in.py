"""A stand-in for the torch_npu backend's seam (conformance/backends/torch_npu_backend.py: TorchNpuSeam).

What it is still for, now that the real torch_npu runs on the CANN twin (tests/test_torch_npu_real.py): what the
twin cannot show, or not cheaply. (1) Marshalling, bit for bit: every tensor the seam receives (dtype, shape,
strides, format, a fingerprint of its values) is logged, so tests rebuild each call from the case alone; the twin
sees only what aclnn receives. (2) Faults a healthy stack never produces: a launch failure, the task queue that a
failed launch poisons, a stack without internal formats (NZ), a hung kernel while cores are held (--busy-cores),
a node without devices. (3) MindSpeed, which the registry's package lacks (issue 21, item 4). (4) Speed: no
torch_npu import per rank. Everything else (dispatch, messages, statuses, numerics) is checked on the twin.

Beliefs corrected against the published source (Ascend/pytorch@9e73e708, Ascend/op-plugin@517f2e7d, the nearest
revisions readable to the wheel's git_version c798c653; /work/fp/issue21/research.md B1-B7):
- Messages have the real form (`check_message`, `aclnn_failure_message`): op_plugin's own checks end with
  formatErrorCode's "(PID:<pid>, Device:<d>, RankID:<r>) ERR01<code> OPS ..." tag (torch_npu/csrc/core/npu/
  NPUException.cpp:90-105); a failed aclnn call reads "<func>:<file>:<line> NPU function error: call <api> failed,
  error code is <status>" + "ERR00100 PTA call acl api failed" (NPUException.h:191-198; op_plugin/utils/
  op_api_common.h:382 GetWorkspaceSize, :395 the launch lambda, whose __func__ is "operator()").
- Launch failures: with ASCEND_LAUNCH_BLOCKING=1 in the process (or option task_queue=False) they raise at their
  call; with the task queue (option task_queue=True) the call returns, the next operator or synchronize raises
  "The Inner error is reported as above..." once, without the status, and every later operator of the process is
  silently dropped (torch_npu/csrc/core/npu/NPUQueue.cpp:313-333, :583-640; research B2).
- Event timing: elapsed_time drains the queue and synchronises both events itself; it raises only for an event
  never recorded (torch_npu/csrc/core/npu/NPUEvent.cpp:149-173). No synchronize() is needed first.
- FP19: torch_npu applies none. npu_mm_all_reduce_base passes an int64 dequant_scale through as ACL_INT64
  (op_plugin/ops/opapi/MatmulAllReduceBaseKernelNpuOpApi.cpp:300-345): the FP19 rounding the stand-in applies to
  such words is CANN's kernel's. npu_quant_matmul packs a float32 scale itself (npu_trans_quant_param) when there
  is no pertoken scale and the output is neither bf16 nor int32 (int8 x1; op_plugin/ops/opapi/
  QuantMatmulKernelNpuOpApi.cpp:261-262, :297-300), so that scale is applied as FP19 too. HF32
  (torch.npu.matmul.allow_hf32) only sets the cube math type of aclnnMatmul/aclnnMm, default off
  (framework/utils/CalcuOpUtil.cpp:407-452): no fp32 matmul of the chain is affected, and none is modelled.
- Formats as aclnn sees them: op_plugin tags a base-format tensor by its rank (3-D ACL_FORMAT_NCL, 4-D NCHW, 5-D
  NCDHW, else ND) and an internal-format one by its NPU format (op_plugin/utils/op_api_common.cpp:901-930): each
  logged tensor carries "acl_format" besides its storage "format".
- Dispatch of npu_mm_all_reduce_base (MatmulAllReduceBaseKernelNpuOpApi.cpp:395-543): fp16/bf16 to
  aclnnMatmulAllReduce (V2 with x3); int8 with both comm scales to aclnnQuantMatmulAllReduceV3, with one of them
  refused by op_plugin's own check (:146-150), without them to aclnnQuantMatmulAllReduceV2 (pertoken scale) or
  aclnnQuantMatmulAllReduce. Logged as "aclnn" on the call.
- NZ: with internal formats disabled (option nz=False) npu_format_cast(t, 29) warns and leaves ND
  (aten/common/TensorFactories.cpp:390-413, research B6); `npu_format` reports what the cast produced.

It records every call to a JSON-lines log (function, rank, each tensor's dtype, shape, strides, format and a
fingerprint of its values, and the scalar keywords: hcom, reduce_op, comm_turn, epsilon) and computes plausible
results with torch on the CPU: the documented formulas in fp32 (no low-bit communication), summed over a real
gloo process group, so copy-back and cross-rank behaviour can be checked. Tensors "on the device" are CPU
tensors; `format_cast(t, 29)` marks the storage of its result FRACTAL_NZ.

The benchmark chain's separate operators are recorded the same way (matmul, add, all_reduce, npu_quant_matmul,
npu_add_rms_norm), each followed by a "result" entry of what it returned, and computed on the CPU as the chain
means them (conformance/sim/chain.py: every operator stores its output in its dtype; the all-reduce sums in fp32
and stores once). Device timing: `event()` returns a StandInEvent that logs its creation, record() and
elapsed_time() (which logs the synchronisation of both events it makes). The log is in call order (per rank).

Busy cores (--busy-cores): `busy_stream(N)` logs "stream_create" and "set_stream_limit" (cube_num N) and returns
a StandInStream; `launch_busy` logs one "busy_matmul" per launch (stream, cores) and leaves the stream pending
until `wait_stream` (logged "stream_synchronize") or a device-wide synchronize(). With env
MC2_STAND_IN_HANG_UNLESS_ALL_CORES=1 an MC2 operator called while a limited stream is pending (fewer than all
cores free) logs "hung" and never returns, as a kernel that assumes it owns every core would.

Options (keywords, picklable): log (path, required), marn (False: MindSpeed "not installed"), raise_message
(every operator call raises RuntimeError(raise_message); env MC2_STAND_IN_RAISE does the same), nz (False:
internal formats disabled), launch_failure ({"status": N, "marker": path}: the first operator call of whichever
process creates the marker file fails in its launch with status N), task_queue (True: launches go through a task
queue whatever ASCEND_LAUNCH_BLOCKING says; None: as the environment says).
`node_facts()` (what `mc2-conformance doctor` asks): env MC2_STAND_IN_DEVICES devices (default 8, "fail" raises).
"""

from __future__ import annotations

import hashlib
import json
import itertools
import os
import time
import warnings

import numpy as np
import torch
import torch.distributed as dist

from conformance import quant


def fingerprint_array(arr: np.ndarray) -> str:
    """Of the logical values: the same bytes torch holds for the mapped dtype (uint64 words as int64, bf16 raw)."""
    return hashlib.sha1(np.ascontiguousarray(arr).tobytes()).hexdigest()[:16]


def fingerprint_tensor(t: torch.Tensor) -> str:
    raw = t.contiguous().reshape(-1).view(torch.uint8) if t.numel() else torch.zeros(0, dtype=torch.uint8)
    return hashlib.sha1(raw.numpy().tobytes()).hexdigest()[:16]


# Messages in the real form (module docstring). The pid is a parameter so tests can make it look like a status.
def _tag(sub: int, code: int, text: str, *, pid: int) -> str:
    return f"\n[ERROR] 2026-12-06-21:00:00 (PID:{pid}, Device:0, RankID:-1) ERR{sub:02d}{code:03d} {text}"


def check_message(text: str, *, pid: int | None = None, code: int = 1) -> str:
    """op_plugin's own TORCH_CHECK failing (OPS_ERROR(ErrCode::PARAM) by default)."""
    return text + _tag(1, code, "OPS invalid parameter", pid=os.getpid() if pid is None else pid)


def aclnn_failure_message(api: str, status: int, *, launch: bool, pid: int | None = None) -> str:
    """NPU_CHECK_ERROR after aclnn returned `status`: in GetWorkspaceSize (the calling function) or in the launch
    (EXEC_NPU_CMD's lambda)."""
    where = "operator()" if launch else "npu_mm_all_reduce_base"
    return (f"{where}:/usr1/op-plugin/op_plugin/ops/opapi/MatmulAllReduceBaseKernelNpuOpApi.cpp:"
            f"{395 if launch else 382} NPU function error: call {api} failed, error code is {status}"
            + _tag(0, 100, "PTA call acl api failed", pid=os.getpid() if pid is None else pid)
            + ".\nEZ9999: Inner Error! the stand-in's recent error message")


def queue_error_message(api: str, *, pid: int | None = None) -> str:
    """What the next operator or synchronize raises after a queued launch failed (no status in it)."""
    return (f"The Inner error is reported as above. The process exits for this inner error, and the current working "
            f"operator name is {api}.\nSince the operator is called asynchronously, the stacktrace may be "
            f"inaccurate." + _tag(0, 100, "PTA call acl api failed", pid=os.getpid() if pid is None else pid))


def acl_format(t: torch.Tensor, nz: bool) -> str:
    """The format op_plugin tags a tensor with when it hands it to aclnn (module docstring)."""
    if nz:
        return "FRACTAL_NZ"
    return {3: "NCL", 4: "NCHW", 5: "NCDHW"}.get(t.dim(), "ND")


def mm_all_reduce_base_dispatch(x1, x2, *, x3, pertoken_scale, comm_quant_scale_1, comm_quant_scale_2) -> str:
    """The aclnn operator op_plugin's npu_mm_all_reduce_base calls for these arguments (no comm_mode; module
    docstring); raises op_plugin's own check for exactly one comm scale."""
    if x1.dtype != torch.int8 or x2.dtype != torch.int8:
        if x2.dtype == torch.int8:
            return "aclnnWeightQuantMatmulAllReduce"
        return "aclnnMatmulAllReduceV2" if x3 is not None else "aclnnMatmulAllReduce"
    if (comm_quant_scale_1 is None) != (comm_quant_scale_2 is None):
        raise RuntimeError(check_message("comm_quant_scale_1 and comm_quant_scale_2 should both be null or not null",
                                         code=2))
    if comm_quant_scale_1 is not None:
        return "aclnnQuantMatmulAllReduceV3"
    return "aclnnQuantMatmulAllReduceV2" if pertoken_scale is not None else "aclnnQuantMatmulAllReduce"


def read_log(path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class StandInEvent:
    """torch.npu.Event(enable_timing=True) on the CPU: the wall clock at record(), readable after a synchronize."""

    def __init__(self, seam: "StandInSeam", ident: int):
        self.seam, self.id = seam, ident
        self.at: float | None = None

    def record(self, stream=None) -> None:
        self.seam._record("event_record", event=self.id)
        self.at = time.perf_counter()

    def elapsed_time(self, end: "StandInEvent") -> float:
        self.seam._record("event_elapsed_time", start=self.id, end=end.id)
        if self.at is None or end.at is None:
            raise RuntimeError("Both events must be recorded before calculating elapsed time."
                               + _tag(0, 5, "PTA internal error", pid=os.getpid()))
        self.seam._drain_queue()  # as the real one: drain the task queue, then synchronise both events
        self.seam._record("event_synchronize", events=[self.id, end.id])
        ms = (end.at - self.at) * 1000.0
        self.seam._record("result", of="event_elapsed_time", returned=ms)
        return ms


class StandInStream:
    """torch.npu.Stream with a core limit: `pending` launches until synchronised."""

    def __init__(self, ident: int):
        self.id, self.cube_num, self.pending = ident, -1, 0


HANG_ENV = "MC2_STAND_IN_HANG_UNLESS_ALL_CORES"


class StandInSeam:
    @classmethod
    def capabilities(cls, *, marn: bool = True, **_options) -> dict:
        return {"marn": marn, "versions": {"torch": torch.__version__, "torch_npu": "stand-in",
                                           "mindspeed": "stand-in" if marn else "not installed"}}

    @classmethod
    def node_facts(cls, **_options) -> dict:
        """The node as TorchNpuSeam.node_facts reports it: MC2_STAND_IN_DEVICES devices (default 8; "fail": the
        query raises, as a child without a driver would)."""
        devices = os.environ.get("MC2_STAND_IN_DEVICES", "8")
        if devices == "fail":
            from conformance.backends import BackendError
            raise BackendError("torch-npu backend: the device query failed: stand-in: drvGetDevNum failed")
        return {"devices": int(devices), "cann": "8.0.stand-in", "driver": "25.0.stand-in", "torch_npu": "stand-in"}

    def __init__(self, *, log: str, marn: bool = True, raise_message: str | None = None, nz: bool = True,
                 launch_failure: dict | None = None, task_queue: bool | None = None):
        self.log, self.marn, self.nz = log, marn, nz
        self.raise_message = raise_message or os.environ.get("MC2_STAND_IN_RAISE")
        self.launch_failure = launch_failure
        self.task_queue = os.environ.get("ASCEND_LAUNCH_BLOCKING") != "1" if task_queue is None else task_queue
        self.queued_failure: str | None = None  # a failed queued launch's operator, not yet reported
        self.queue_dead = False  # reported: every later operator of this process is dropped
        self.rank = None
        self.syncs = 0  # synchronize() calls so far
        self._events = itertools.count()
        self._streams: list[StandInStream] = []
        self._nz: list[torch.Tensor] = []  # tensors made by format_cast(.., 29): their storages are "NZ"

    # --- recording ---
    def _is_nz(self, v: torch.Tensor) -> bool:
        ptr = v.untyped_storage().data_ptr()
        return any(n.untyped_storage().data_ptr() == ptr for n in self._nz)

    def _describe(self, v):
        if not isinstance(v, torch.Tensor):
            return v
        nz = self._is_nz(v)
        return {"dtype": str(v.dtype).removeprefix("torch."), "shape": list(v.shape), "stride": list(v.stride()),
                "format": "FRACTAL_NZ" if nz else "ND", "acl_format": acl_format(v, nz), "fp": fingerprint_tensor(v)}

    def _record(self, fn: str, **fields) -> None:
        entry = {"fn": fn, "rank": self.rank, **{k: self._describe(v) for k, v in fields.items()}}
        with open(self.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def _drain_queue(self) -> None:
        """What draining the task queue does after a queued launch failed: raise once, without the status."""
        if self.queued_failure:
            api, self.queued_failure, self.queue_dead = self.queued_failure, None, True
            self._record("queue_error", of=api)
            raise RuntimeError(queue_error_message(api))

    def _launch_fails(self) -> bool:
        """The configured launch failure, for the first call of the process that creates the marker."""
        if not self.launch_failure:
            return False
        try:
            with open(self.launch_failure["marker"], "x"):
                return True
        except FileExistsError:
            return False

    def _operator_called(self, fn: str, *, aclnn: str = "", **fields) -> bool:
        """Logs the call; raises as configured. False: the task queue is dead and the operator is dropped (the
        caller returns without computing, as the real queue drops it silently)."""
        self._record(fn, **fields, **({"aclnn": aclnn} if aclnn else {}))
        held = [s for s in self._streams if s.pending and s.cube_num > 0]
        if held and os.environ.get(HANG_ENV) == "1":
            self._record("hung", of=fn, busy_cores=sum(s.cube_num for s in held))
            while True:  # a kernel waiting for cores that never come: only the engine's deadline ends this
                time.sleep(3600)
        if self.raise_message:
            raise RuntimeError(self.raise_message)
        self._drain_queue()
        if self.queue_dead:
            self._record("dropped", of=fn)
            return False
        if self._launch_fails():
            api = aclnn or f"aclnn{fn}"
            if not self.task_queue:
                raise RuntimeError(aclnn_failure_message(api, int(self.launch_failure["status"]), launch=True))
            self.queued_failure = api  # the call returns; the error surfaces at the next operator or synchronize
        return True

    # --- the seam ---
    def set_device(self, device: int) -> None:
        self._record("set_device", device=device)

    def to_device(self, t):
        return t.clone()

    def to_host(self, t):
        return t.detach().clone()

    def format_cast(self, t, acl_format: int):
        self._record("npu_format_cast", src=t, acl_format=acl_format)
        out = t.contiguous().clone()
        if acl_format == 29 and self.nz:
            self._nz.append(out)
        elif acl_format == 29:  # internal formats disabled: a warning, and the tensor stays ND
            warnings.warn("Cannot create tensor with internal format while allow_internal_format=False, tensor will "
                          "be created with base format.", stacklevel=2)
        return out

    def npu_format(self, t) -> int:
        fmt = 29 if self._is_nz(t) else 2
        self._record("get_npu_format", tensor=t, returned=fmt)
        return fmt

    def init_process_group(self, *, init_method: str, rank: int, world_size: int) -> None:
        self.rank = rank
        self._record("init_process_group", init_method=init_method, world_size=world_size)
        dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world_size)

    def hcom_name(self, rank: int) -> str:
        name = f"stand-in-hcom:{dist.get_world_size()}:{rank}"
        self._record("get_hccl_comm_name", returned=name)
        return name

    def synchronize(self) -> None:
        self._record("synchronize")
        self._drain_queue()
        self.syncs += 1
        for stream in self._streams:  # device-wide, as torch_npu.npu.synchronize()
            stream.pending = 0
        self._nz.clear()

    def destroy_process_group(self) -> None:
        self._record("destroy_process_group")
        if dist.is_initialized():
            dist.destroy_process_group()

    @staticmethod
    def _all_reduce(x: torch.Tensor) -> torch.Tensor:
        if dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(x)
        return x

    def mm_all_reduce_base(self, x1, x2, hcom, *, reduce_op="sum", bias=None, antiquant_scale=None,
                           antiquant_offset=None, x3=None, dequant_scale=None, pertoken_scale=None,
                           comm_quant_scale_1=None, comm_quant_scale_2=None, comm_turn=0, antiquant_group_size=0):
        try:
            aclnn, refusal = mm_all_reduce_base_dispatch(x1, x2, x3=x3, pertoken_scale=pertoken_scale,
                                                         comm_quant_scale_1=comm_quant_scale_1,
                                                         comm_quant_scale_2=comm_quant_scale_2), None
        except RuntimeError as exc:  # op_plugin's own check: the call is made, no aclnn operator is reached
            aclnn, refusal = "none (op_plugin's own check refused the call)", exc
        ran = self._operator_called("npu_mm_all_reduce_base", aclnn=aclnn, x1=x1, x2=x2, hcom=hcom,
                                    reduce_op=reduce_op, bias=bias, antiquant_scale=antiquant_scale,
                                    antiquant_offset=antiquant_offset, x3=x3, dequant_scale=dequant_scale,
                                    pertoken_scale=pertoken_scale, comm_quant_scale_1=comm_quant_scale_1,
                                    comm_quant_scale_2=comm_quant_scale_2, comm_turn=comm_turn,
                                    antiquant_group_size=antiquant_group_size)
        if refusal is not None:
            raise refusal
        if not ran:  # dropped by a dead task queue: an output that was never written
            out_dtype = x1.dtype if x1.dtype != torch.int8 else torch.bfloat16 \
                if dequant_scale is not None and dequant_scale.dtype == torch.bfloat16 else torch.float16
            return torch.zeros((*x1.shape[:-1], x2.shape[-1]), dtype=out_dtype)
        try:
            out = self._mar(x1, x2, bias) if aclnn == "aclnnMatmulAllReduce" else \
                self._v3(x1, x2, bias, x3, dequant_scale, pertoken_scale)
        except Exception as exc:  # inputs the formula cannot take (an invalid case): raise as torch_npu would
            raise RuntimeError(f"stand-in npu_mm_all_reduce_base failed: {type(exc).__name__}: {exc}") from None
        self._record("returned", output=out)
        return out

    @staticmethod
    def _dequantised(x1, x2, bias, dequant_scale, pertoken_scale, *, packs_scale=False):
        """The quantised matmul's value in float64: (x1 @ x2 + bias) * scale (* pertoken). packs_scale: a float32
        scale is packed to npu_trans_quant_param words first (npu_quant_matmul without a pertoken scale)."""
        acc = x1.reshape(-1, x1.shape[-1]).double() @ x2.double()
        if bias is not None:
            acc = acc + bias.double()
        if dequant_scale.dtype == torch.int64:  # npu_trans_quant_param words: CANN applies their FP19 scale
            scale = torch.from_numpy(quant.applied_scale(dequant_scale.numpy().view(np.uint64)).astype(np.float64))
        elif packs_scale:  # npu_quant_matmul packs a float32 scale itself: FP19 as well (module docstring)
            words = quant.trans_quant_param(dequant_scale.numpy())
            scale = torch.from_numpy(quant.applied_scale(words).astype(np.float64))
        else:
            scale = dequant_scale.double()
        value = acc * scale.reshape(1, -1)
        if pertoken_scale is not None:
            value = value * pertoken_scale.double().reshape(-1, 1)
        return value

    def _mar(self, x1, x2, bias):
        """aclnnMatmulAllReduce: x1 @ x2 + bias in float64, summed over the group in fp32, stored in x1's dtype."""
        value = x1.reshape(-1, x1.shape[-1]).double() @ x2.double()
        if bias is not None:
            value = value + bias.double()
        return self._all_reduce(value.float()).to(x1.dtype).reshape(*x1.shape[:-1], x2.shape[-1])

    def _v3(self, x1, x2, bias, x3, dequant_scale, pertoken_scale):
        value = self._dequantised(x1, x2, bias, dequant_scale, pertoken_scale)
        if x3 is not None:
            value = value + x3.double().reshape(value.shape)
        out_dtype = torch.bfloat16 if dequant_scale.dtype == torch.bfloat16 else torch.float16  # torch_npu's rule
        total = self._all_reduce(value.float())
        return total.to(out_dtype).reshape(*x1.shape[:-1], x2.shape[-1])

    def _marn(self, fn, x1, x2, residual, gamma, hcom, *, reduce_op, epsilon, bias, comm_turn, **rest):
        ran = self._operator_called(fn, aclnn="aclnnMatmulAllReduceAddRmsNorm" if fn.endswith("norm") else
                                    "aclnnInplaceMatmulAllReduceAddRmsNorm", x1=x1, x2=x2, residual=residual,
                                    gamma=gamma, hcom=hcom, reduce_op=reduce_op, epsilon=epsilon, bias=bias,
                                    comm_turn=comm_turn, **rest)
        if not self.marn:
            raise ImportError("stand-in: MindSpeed not installed")
        if not ran:  # dropped by a dead task queue: outputs never written
            return torch.zeros_like(residual), torch.zeros_like(residual)
        try:
            return self._marn_values(x1, x2, residual, gamma, epsilon, bias)
        except Exception as exc:
            raise RuntimeError(f"stand-in {fn} failed: {type(exc).__name__}: {exc}") from None

    def _marn_values(self, x1, x2, residual, gamma, epsilon, bias):
        mm = x1.reshape(-1, x1.shape[-1]).float() @ x2.float()
        if bias is not None:
            mm = mm + bias.float()
        x = self._all_reduce(mm) + residual.reshape(mm.shape).float()
        y = x.to(residual.dtype)
        norm = torch.nn.functional.rms_norm(y.float(), (y.shape[-1],), weight=gamma.float(), eps=epsilon)
        return y.reshape(residual.shape), norm.to(residual.dtype).reshape(residual.shape)

    def mm_all_reduce_add_rms_norm(self, x1, x2, residual, gamma, hcom, *, reduce_op="sum", epsilon=1e-6,
                                   bias=None, comm_turn=0, **rest):
        y, norm = self._marn("npu_mm_all_reduce_add_rms_norm", x1, x2, residual, gamma, hcom, reduce_op=reduce_op,
                             epsilon=epsilon, bias=bias, comm_turn=comm_turn, **rest)
        self._record("returned", y=y, normOut=norm)
        return y, norm

    def mm_all_reduce_add_rms_norm_(self, x1, x2, residual, gamma, hcom, *, reduce_op="sum", epsilon=1e-6,
                                    bias=None, comm_turn=0, **rest):
        y, norm = self._marn("npu_mm_all_reduce_add_rms_norm_", x1, x2, residual, gamma, hcom, reduce_op=reduce_op,
                             epsilon=epsilon, bias=bias, comm_turn=comm_turn, **rest)
        residual.copy_(y)  # in place, as MindSpeed writes y into residual
        self._record("returned", residual=residual, normOut=norm)
        return residual, norm

    # --- the benchmark chain's separate operators (torch, torch.distributed, torch_npu) ---
    def _chain_op(self, fn: str, compute, **fields):
        ran = self._operator_called(fn, **fields)
        try:
            out = compute()
        except Exception as exc:  # inputs the formula cannot take: raise as the operator would
            raise RuntimeError(f"stand-in {fn} failed: {type(exc).__name__}: {exc}") from None
        if not ran:  # dropped by a dead task queue: outputs never written
            return tuple(o.zero_() for o in out) if isinstance(out, tuple) else out.zero_()
        return out

    def matmul(self, x1, x2):
        out = self._chain_op("matmul", lambda: (x1.float() @ x2.float()).to(x1.dtype), x1=x1, x2=x2)
        self._record("result", of="matmul", out=out)
        return out

    def add(self, a, b):
        out = self._chain_op("add", lambda: (a.float() + b.float()).to(a.dtype), a=a, b=b)
        self._record("result", of="add", out=out)
        return out

    def all_reduce(self, t, op: str = "sum") -> None:
        """In place: summed over the gloo group in fp32, stored once in t's dtype."""
        self._record("all_reduce", tensor=t, op=op)
        if self.queue_dead:
            return
        if op != "sum":
            raise RuntimeError(f"stand-in all_reduce: only sum, got {op!r}")
        t.copy_(self._all_reduce(t.float()).to(t.dtype))
        self._record("result", of="all_reduce", out=t)

    def add_rms_norm(self, x1, x2, gamma, epsilon):
        def compute():
            x = (x1.float() + x2.float()).to(x1.dtype)
            rstd = torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + epsilon)
            return (x.float() * rstd * gamma.float()).to(x1.dtype), rstd, x
        y, rstd, x = self._chain_op("npu_add_rms_norm", compute, x1=x1, x2=x2, gamma=gamma, epsilon=epsilon)
        self._record("result", of="npu_add_rms_norm", y=y, rstd=rstd, x=x)
        return y, rstd, x

    def quant_matmul(self, x1, x2, scale, *, offset=None, pertoken_scale=None, bias=None, output_dtype=None):
        def compute():
            value = self._dequantised(x1, x2, bias, scale, pertoken_scale,
                                      packs_scale=scale.dtype == torch.float32 and pertoken_scale is None
                                      and output_dtype not in (torch.bfloat16, torch.int32))
            if offset is not None:
                value = value + offset.double().reshape(1, -1)
            return value.float().to(output_dtype or torch.int8).reshape(*x1.shape[:-1], x2.shape[-1])
        out = self._chain_op("npu_quant_matmul", compute, x1=x1, x2=x2, scale=scale, offset=offset,
                             pertoken_scale=pertoken_scale, bias=bias,
                             output_dtype=None if output_dtype is None else str(output_dtype).removeprefix("torch."))
        self._record("result", of="npu_quant_matmul", out=out)
        return out

    # --- busy cores ---
    def busy_stream(self, cube_cores: int) -> StandInStream:
        stream = StandInStream(len(self._streams))
        self._streams.append(stream)
        self._record("stream_create", stream=stream.id)
        stream.cube_num = cube_cores
        self._record("set_stream_limit", stream=stream.id, cube_num=cube_cores)
        return stream

    def busy_operands(self, work):
        dtype = getattr(torch, work.dtype)
        return tuple(torch.zeros(shape, dtype=dtype) for shape in ((work.m, work.k), (work.k, work.n),
                                                                    (work.m, work.n)))

    def launch_busy(self, stream: StandInStream, operands, launches: int) -> None:
        a, b, out = operands
        for _ in range(launches):
            self._record("busy_matmul", stream=stream.id, cores=stream.cube_num, a=a, b=b)
            stream.pending += 1

    def wait_stream(self, stream: StandInStream) -> None:
        self._record("stream_synchronize", stream=stream.id, pending=stream.pending)
        stream.pending = 0

    def event(self) -> StandInEvent:
        ev = StandInEvent(self, next(self._events))
        self._record("event_create", event=ev.id, enable_timing=True)
        return ev
