"""The operators through their Python entry points on an Ascend NPU: torch_npu and MindSpeed.

- The fused call: each operator's Python entry point (torch_npu's, or MindSpeed's where torch_npu has none), as
  its binding says (`Binding`, in conformance/backends/bindings/torch_npu_*.py, named by the operator's record:
  `bindings["torch-npu"]`); an operator whose record names none is declared unsupported.
- The benchmark chain (protocol.invoke_chain, semantics in conformance/sim/chain.py) through torch's and
  torch_npu's separate operators, outputs under the fused names (TorchNpuRankProgram._chain): the binding's
  steps before torch.distributed.all_reduce(SUM, the hccl group) and after it.
  Low-bit communication (comm quant scales) has no separate-operator binding: refused, as the aclnn backend does.
- Device timing (protocol.timed) of the fused call or the chain: torch.npu.Event(enable_timing=True) pairs
  recorded around each measured iteration after `warmup` unmeasured ones, torch.npu.synchronize(), then
  start.elapsed_time(end) (milliseconds). Both go through the rank engine (RankEngine.run / .timed).
- --busy-cores N (conformance/backends/busy.py): each rank makes a second torch.npu.Stream limited to N cube
  cores (torch.npu.set_stream_limit) and, before each fused call, launches matmuls on it; then the call on the
  current stream, torch.npu.synchronize() (no timeout: a hang ends by the rank engine's deadline, as `timeout`),
  then the busy stream's own synchronize. Chain and timed runs launch no busy work.
Each rank is a worker process of the rank engine (one process per rank, as upstream launches them): the
program sets the device, joins an `hccl` process group at a TCP address rank 0 picked, looks up the HCCL
communicator name and passes it as `hcom`.

How the rank processes run, and what a failure means:
- Launch blocking: every rank runs with ASCEND_LAUNCH_BLOCKING=1 (RANK_ENV). torch_npu then disables its task
  queue (Ascend/pytorch@9e73e708 torch_npu/csrc/core/npu/register/OptionsManager.cpp:570-573) and synchronises
  the stream after each aclnn launch (torch_npu/csrc/framework/OpCommand.cpp:265-270), so a failure is raised by
  the call that caused it, not by a later operator or synchronize.
- Status codes: torch_npu raises instead of returning a status. The status is read only from the place the real
  message carries it, "call <aclnn api> failed, error code is N", never from another number (the message also
  holds the process id); torch_npu_errors.py says how, with citations. Without it the rank gets ACLNN_ERR_INNER.
- Who answered (RankResult.answered_by): aclnn (its status is judged against the documents), or torch_npu /
  MindSpeed, whose own checks raise before aclnn is reached (judged as "rejected before aclnn": expectation.py).
- NZ: with internal formats disabled (Atlas A2), npu_format_cast(t, 29) leaves the tensor ND. Each worker group
  probes once (format_cast of a small tensor, then torch_npu.get_npu_format) and NZ cases are declared
  unsupported with the reason when the stack does not produce NZ.
- Workers restart after a failure that may poison the process (a launch failure, a task-queue error, an error of
  unknown origin: torch_npu_errors.poisons_worker): the group is closed, the next invocation opens a fresh one.
- Cases the bindings cannot express are declared (see `unsupported_reason`), never run in a distorted form.

All access to torch_npu, MindSpeed and torch.distributed goes through one seam object (`TorchNpuSeam`), named
by an import path, so tests replace it with a recording stand-in (tests/stand_ins/torch_npu_stand_in.py).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from .. import operators
from ..protocol import (ACLNN_ERR_INNER, ACLNN_SUCCESS, ANSWERED_BY_MINDSPEED, ANSWERED_BY_TORCH_NPU, TARGET_HARDWARE,
                        Invocation, RankResult, TensorArg, Timing)
from . import BackendError, binding_of, import_attr
from .busy import BusyWork, work_for
from .torch_npu_errors import poisons_worker, read_exception

ACL_FORMAT_FRACTAL_NZ = 29
# The rank processes' environment additions. ASCEND_LAUNCH_BLOCKING=1: no task queue, each launch synchronised, so a
# failure belongs to its call (module docstring). TORCH_NPU_COMPACT_ERROR_OUTPUT=0: messages keep the function, the
# "error code is N" and the error tag that torch_npu_errors.py reads (its docstring).
RANK_ENV = {"ASCEND_LAUNCH_BLOCKING": "1", "TORCH_NPU_COMPACT_ERROR_OUTPUT": "0"}
PROBE = "probe"  # the rank program's mode that reports what the stack can do (NZ), once per worker group
DEFAULT_SEAM = f"{__name__}:TorchNpuSeam"
PROGRAM = f"{__name__}:TorchNpuRankProgram"
KIND = "torch-npu"  # the key of this backend's bindings in the operator records
FLOAT16S = ("float16", "bfloat16")
# The arguments that ask for low-bit communication: no chain of separate operators binds those steps.
LOW_BIT_COMM_ARGS = ("commQuantScale1", "commQuantScale2")


def _is_tiled_nz(arg: TensorArg) -> bool:
    """Data already FRACTAL_NZ-tiled (storage shape differs from the view), as opposed to ND values tagged NZ."""
    return arg.format == "FRACTAL_NZ" and arg.storage_shape is not None and tuple(arg.storage_shape) != arg.shape


def rows(shape) -> int:
    """The m of an activation: the product of all but its last dimension (explicit, so k = 0 reshapes too)."""
    return int(np.prod(tuple(shape)[:-1], dtype=np.int64))


@dataclass(frozen=True)
class Binding:
    """How this backend reaches one operator: its Python entry point and what that can express, and the
    benchmark chain of separate operators. An operator's record names its instance (`bindings["torch-npu"]`, in
    conformance/backends/bindings/torch_npu_*.py). The functions run in a rank's worker process and reach
    torch_npu only through the rank program's seam (`program.seam`, `program.hcom`)."""
    entry: str  # the Python function called
    seam_fn: str  # the TorchNpuSeam method that calls it
    required: tuple[str, ...]  # what the binding needs as a tensor (NULL impossible)
    mindspeed: bool  # the entry point is MindSpeed's (optional), not torch_npu's
    limits: Callable[[Invocation, dict, bool], str | None]  # (inv, one rank's tensors, accept_v2_dispatch)
    call: Callable[..., dict]  # the fused call: (program, op, t, attrs, common) -> {output name: tensor}
    chain_local: Callable  # the chain up to the all-reduce: (program, x1 (m, k), t, specs) -> this rank's partial
    # the chain after the all-reduce: (program, op, t, reduced, attrs) -> {output name: tensor}; None: the
    # reduced partial is the summed output
    chain_after: Callable[..., dict] | None = None
    chain_limits: Callable[[Invocation], str | None] | None = None


def _not_bound(op: str) -> str | None:
    return None if binding_of(op, KIND) is not None else f"the torch_npu backend does not implement {op}"


def unsupported_reason(inv: Invocation, *, marn_available: bool, accept_v2_dispatch: bool = False) -> str | None:
    """Why the torch_npu / MindSpeed bindings cannot express this invocation as the case means it (None: they can).
    `marn_available`: MindSpeed is installed (the bindings whose entry point is MindSpeed's)."""
    if _not_bound(inv.op):
        return _not_bound(inv.op)
    binding = binding_of(inv.op, KIND)
    if inv.shape_only:
        return ("shape-only case: torch_npu has no GetWorkspaceSize-only call, and its descriptors (up to "
                "INT32_MAX elements) would have to be allocated")
    if binding.mindspeed and not marn_available:
        return (f"{inv.op} has no torch_npu binding; it needs MindSpeed (mindspeed.ops."
                f"{binding.entry}), which is not installed")
    if int(inv.attrs.get("streamMode", 1)) != 1:
        return f"streamMode={inv.attrs['streamMode']}: torch_npu and MindSpeed always pass 1 (ACL_STOP_ON_FAILURE)"
    for t in inv.ranks:
        nulls = [n for n in binding.required if t.get(n) is None]
        if nulls:
            return (f"null pointer for {', '.join(nulls)}: the Python binding takes it as a required tensor or "
                    f"allocates it itself, so NULL cannot be passed (the aclnn backend covers 161001)")
        for name, arg in t.items():
            if arg is None:
                continue
            if any(s <= 0 for s, d in zip(arg.strides, arg.shape) if d > 1):
                return f"{name} has zero or negative strides {arg.strides}: not a torch view of device memory"
            if _is_tiled_nz(arg) and not (name == "x2" and len(arg.shape) == 2 and len(arg.storage_shape) == 4):
                return (f"{name} in FRACTAL_NZ with storage shape {arg.storage_shape}: torch_npu.npu_format_cast "
                        f"makes the NZ storage itself (4-D, from a 2-D weight), so this storage cannot be passed")
            if binding.mindspeed and arg.format != "ND":
                # MindSpeed@028de58c mindspeed/ops/csrc/cann/inc/aclnn_common.h:211-250 tags every tensor by its rank
                # alone (its ND copies, npu_mm_all_reduce_add_rms_norm.cpp:25-32, are not what it passes: :66-78)
                return (f"{name} in {arg.format}: MindSpeed describes every tensor to aclnn by its rank alone (ND, "
                        f"NCL, ...), so NZ-ordered storage would reach the operator described as ND")
        reason = binding.limits(inv, t, accept_v2_dispatch)
        if reason:
            return reason
    return None


def chain_unsupported_reason(inv: Invocation) -> str | None:
    """Why the benchmark chain cannot run this invocation through torch / torch_npu's separate operators (None:
    it can). MindSpeed is not needed (no fused binding is called), nor does the V2 dispatch of
    npu_mm_all_reduce_base matter; every other limit of marshalling the case's tensors still applies."""
    if _not_bound(inv.op):
        return _not_bound(inv.op)
    if any(t.get(name) is not None for t in inv.ranks for name in LOW_BIT_COMM_ARGS):
        return ("the low-bit communication steps (quantise, all_to_all, requantise, all_gather) have no "
                "separate-operator binding in the torch_npu backend's chain")
    if str(inv.attrs.get("reduceOp", "sum")) != "sum":
        return (f"reduceOp={inv.attrs.get('reduceOp')!r}: the chain's torch.distributed.all_reduce is "
                f"ReduceOp.SUM, the only reduction the fused operators define")
    chain_limits = binding_of(inv.op, KIND).chain_limits
    reason = chain_limits(inv) if chain_limits else None
    if reason:
        return reason
    return unsupported_reason(inv, marn_available=True, accept_v2_dispatch=True)


def failed(exc: BaseException, *, library: str = ANSWERED_BY_TORCH_NPU, prefix: str = "") -> RankResult:
    """A binding's exception as the rank's result: status, phase and who answered as torch_npu_errors reads them."""
    reading = read_exception(exc, library=library)
    return RankResult(reading.status, {}, prefix + reading.message, reading.phase, reading.answered_by)


def uses_nz(inv: Invocation) -> bool:
    return any(a is not None and a.format == "FRACTAL_NZ" for t in inv.ranks for a in t.values())


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


# --- the seam: the only code that touches torch_npu, MindSpeed and torch.distributed ------------------------

class TorchNpuSeam:
    """The real bindings, imported when a rank program builds it (never in the test runner's process)."""

    @classmethod
    def check(cls, env: dict | None = None, **_options) -> None:
        """At construction, in the test runner's process: torch and torch_npu must be installed and import (in a
        child process, as the rank programs import them; torch_npu is never imported here). One-line BackendError
        otherwise. MindSpeed is optional: without it the MARN cases are declared unsupported (`capabilities`)."""
        missing = [m for m in ("torch", "torch_npu") if importlib.util.find_spec(m) is None]
        if missing:
            raise BackendError(f"torch-npu backend: {' and '.join(missing)} not installed (pip packages torch and "
                               f"torch-npu, the Ascend PyTorch adapter matching torch)")
        try:
            probe = subprocess.run([sys.executable, "-c", "import torch, torch_npu"], capture_output=True, text=True,
                                   env=env, timeout=300)
        except subprocess.TimeoutExpired:
            raise BackendError("torch-npu backend: `import torch, torch_npu` did not finish in 300 s") from None
        if probe.returncode != 0:
            lines = (probe.stderr or probe.stdout).strip().splitlines()
            raise BackendError(f"torch-npu backend: `import torch, torch_npu` failed: "
                               f"{lines[-1] if lines else f'exit status {probe.returncode}'}")

    @classmethod
    def capabilities(cls, **_options) -> dict:
        """Asked in the test runner's process, without importing torch_npu."""
        return {"marn": importlib.util.find_spec("mindspeed") is not None,
                "versions": {"torch": _version("torch"), "torch_npu": _version("torch-npu"),
                             "mindspeed": _version("mindspeed")}}

    @classmethod
    def node_facts(cls, env: dict | None = None, **_options) -> dict:
        """What `mc2-conformance doctor` reports of the node, asked in a child process (torch_npu is never imported
        in the runner's): {"devices": int, "cann": str, "driver": str, "torch_npu": str}. Ascend/pytorch@9e73e708:
        torch_npu.npu.device_count() (torch_npu/npu/__init__.py:485-497: the driver's count, trimmed by
        ASCEND_RT_VISIBLE_DEVICES), torch_npu.npu.utils.get_cann_version(module="CANN" / "DRIVER")
        (torch_npu/npu/utils.py:37-46; "" when unknown), torch_npu.__version__ (torch_npu/__init__.py:44).
        One-line BackendError if the child fails."""
        code = ("import json, torch, torch_npu\n"
                "from torch_npu.npu import utils\n"
                "def version(module):\n"
                "    try:\n"
                "        return utils.get_cann_version(module=module) or ''\n"
                "    except Exception:\n"
                "        return ''\n"
                "print(json.dumps({'devices': int(torch_npu.npu.device_count()), 'cann': version('CANN'),\n"
                "                  'driver': version('DRIVER'), 'torch_npu': torch_npu.__version__}))\n")
        try:
            probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        except subprocess.TimeoutExpired:
            raise BackendError("torch-npu backend: the device query (torch_npu.npu.device_count) did not finish in "
                               "300 s") from None
        lines = (probe.stdout if probe.returncode == 0 else probe.stderr or probe.stdout).strip().splitlines()
        if probe.returncode != 0 or not lines:
            raise BackendError(f"torch-npu backend: the device query failed: "
                               f"{lines[-1] if lines else f'exit status {probe.returncode}'}")
        return json.loads(lines[-1])

    def __init__(self):
        try:
            import torch
            import torch.distributed as dist
            import torch_npu
        except ImportError as exc:
            raise ImportError(f"torch_npu backend: cannot import torch_npu (the Ascend PyTorch adapter, "
                              f"pip package torch-npu, matching torch): {exc}") from None
        self.torch, self.dist, self.torch_npu = torch, dist, torch_npu
        os.environ.setdefault("HCCL_WHITELIST_DISABLE", "1")

    def set_device(self, device: int) -> None:
        self.torch_npu.npu.set_device(device)

    def to_device(self, t):
        return t.npu()

    def to_host(self, t):
        return t.cpu()

    def format_cast(self, t, acl_format: int):
        return self.torch_npu.npu_format_cast(t, acl_format)

    def npu_format(self, t) -> int:
        """The tensor's storage format as torch_npu records it (ACL_FORMAT_*: 2 ND, 29 FRACTAL_NZ)."""
        return int(self.torch_npu.get_npu_format(t))

    def init_process_group(self, *, init_method: str, rank: int, world_size: int) -> None:
        self.dist.init_process_group("hccl", init_method=init_method, rank=rank, world_size=world_size)

    def hcom_name(self, rank: int) -> str:
        pg = self.dist.distributed_c10d._get_default_group()
        return pg._get_backend(self.torch.device("npu")).get_hccl_comm_name(rank)

    def mm_all_reduce_base(self, x1, x2, hcom, **kwargs):
        return self.torch_npu.npu_mm_all_reduce_base(x1, x2, hcom, **kwargs)

    def _mindspeed(self, name: str):
        try:  # MindSpeed keeps each op in a module of its own name; accept the function re-exported too
            obj = importlib.import_module(f"mindspeed.ops.{name}")
        except ImportError as exc:
            raise ImportError(f"torch_npu backend: cannot import mindspeed.ops.{name} (MindSpeed): {exc}") from None
        return getattr(obj, name, obj)

    def mm_all_reduce_add_rms_norm(self, x1, x2, residual, gamma, hcom, **kwargs):
        return self._mindspeed("npu_mm_all_reduce_add_rms_norm")(x1, x2, residual, gamma, hcom, **kwargs)

    def mm_all_reduce_add_rms_norm_(self, x1, x2, residual, gamma, hcom, **kwargs):
        return self._mindspeed("npu_mm_all_reduce_add_rms_norm_")(x1, x2, residual, gamma, hcom, **kwargs)

    # the benchmark chain's separate operators
    def matmul(self, x1, x2):
        return self.torch.matmul(x1, x2)

    def add(self, a, b):
        return self.torch.add(a, b)

    def all_reduce(self, t, op: str = "sum") -> None:
        """In place, on the default process group (the hccl group init_process_group made)."""
        self.dist.all_reduce(t, op=getattr(self.dist.ReduceOp, op.upper()))

    def add_rms_norm(self, x1, x2, gamma, epsilon: float):
        # torch_npu.npu_add_rms_norm(x1, x2, gamma, epsilon) -> (y, rstd, x): y the normalised output (times
        # gamma), rstd the reciprocal rms, x = x1 + x2. Order as torch_npu's own test calls and checks it:
        # `y, rstd, x = torch_npu.npu_add_rms_norm(x1, x2, gamma, epsilon)` against the reference returning
        # (x*rstd*gamma, rstd, x1 + x2) (Ascend/op-plugin, test/test_custom_ops/test_npu_add_rms_norm.py,
        # gitcode.com/Ascend/op-plugin/blob/26.0.0). The torch_npu API reference documents npu_rms_norm's
        # (y, rstd) the same way (hiascend.com Pytorch 7.0.0 apiref, ptaoplist_000860).
        return self.torch_npu.npu_add_rms_norm(x1, x2, gamma, epsilon)

    def quant_matmul(self, x1, x2, scale, *, offset=None, pertoken_scale=None, bias=None, output_dtype=None):
        # torch_npu.npu_quant_matmul(Tensor x1, Tensor x2, Tensor scale, *, Tensor? offset=None,
        # Tensor? pertoken_scale=None, Tensor? bias=None, ScalarType? output_dtype=None) -> Tensor
        # (torch_npu API reference, hiascend.com Pytorch 7.0.0 apiref, ptaoplist_000172; int64 scale = the
        # npu_trans_quant_param words, as dequantScale uint64 arrives here)
        return self.torch_npu.npu_quant_matmul(x1, x2, scale, offset=offset, pertoken_scale=pertoken_scale,
                                               bias=bias, output_dtype=output_dtype)

    def event(self):
        return self.torch.npu.Event(enable_timing=True)

    # --busy-cores: a second stream limited to N cube cores (Ascend/pytorch@9e73e708 torch_npu/npu/npu_config.py:261,
    # set_stream_limit(stream, cube_num=-1, vector_num=-1); applied to each launch on that stream,
    # torch_npu/csrc/core/npu/NPUStream.cpp:1003-1014), busy with matmuls
    def busy_stream(self, cube_cores: int):
        if not hasattr(self.torch_npu.npu, "set_stream_limit"):
            raise RuntimeError(f"--busy-cores needs torch_npu.npu.set_stream_limit, which torch_npu "
                               f"{getattr(self.torch_npu, '__version__', '?')} lacks")
        stream = self.torch.npu.Stream()
        self.torch_npu.npu.set_stream_limit(stream, cube_num=cube_cores)
        return stream

    def busy_operands(self, work: BusyWork):
        dtype = getattr(self.torch, work.dtype)
        return tuple(self.torch.zeros(shape, dtype=dtype).npu()
                     for shape in ((work.m, work.k), (work.k, work.n), (work.m, work.n)))

    def launch_busy(self, stream, operands, launches: int) -> None:
        a, b, out = operands
        with self.torch.npu.stream(stream):
            for _ in range(launches):
                self.torch.matmul(a, b, out=out)

    def wait_stream(self, stream) -> None:
        stream.synchronize()

    def synchronize(self) -> None:
        self.torch_npu.npu.synchronize()

    def destroy_process_group(self) -> None:
        if self.dist.is_initialized():
            self.dist.destroy_process_group()


# --- the rank program (runs in a rank's worker process) ------------------------------------------------------

class TorchNpuRankProgram:
    """One rank: marshals its TensorArgs into device tensors, calls the binding, copies the outputs back."""

    def __init__(self, *, rank: int, world_size: int, device: int | None, seam: str = DEFAULT_SEAM,
                 seam_options: dict | None = None, busy: dict | None = None):
        """busy: the BusyWork of --busy-cores as a dict (picklable; None: off)."""
        self.rank, self.world_size = rank, world_size
        self.device = rank if device is None else device  # upstream: set_device(rank)
        self.seam = import_attr(seam)(**(seam_options or {}))
        self.hcom = ""
        self.busy_work = BusyWork(**busy) if busy else None
        self.busy_stream = self.busy_operands = None

    def open(self) -> bytes:
        self.seam.set_device(self.device)
        if self.busy_work is not None:
            self.busy_stream = self.seam.busy_stream(self.busy_work.cores)
            self.busy_operands = self.seam.busy_operands(self.busy_work)
        if self.rank != 0:
            return b""
        with socket.socket() as s:  # a free port for the process group's TCP store (rank 0 hosts it)
            s.bind(("127.0.0.1", 0))
            return f"tcp://127.0.0.1:{s.getsockname()[1]}".encode()

    def connect(self, token: bytes) -> None:
        self.seam.init_process_group(init_method=token.decode(), rank=self.rank, world_size=self.world_size)
        self.hcom = self.seam.hcom_name(self.rank)

    def close(self) -> None:
        self.seam.destroy_process_group()

    # --- marshalling ---
    def _device_tensor(self, arg: TensorArg):
        """A device tensor with the argument's values, view (strides) and format."""
        from .torch_cpu import to_torch
        if _is_tiled_nz(arg):  # an NZ-tiled weight: decode to the stored ND matrix, let torch_npu tile it
            from ..reference.v3 import x2_matrix
            logical = x2_matrix(arg)  # (k, n)
            transposed = arg.is_last_two_transposed and not arg.is_contiguous
            stored = to_torch(np.ascontiguousarray(logical.T if transposed else logical), arg.dtype)
            nz = self.seam.format_cast(self.seam.to_device(stored), ACL_FORMAT_FRACTAL_NZ)
            return nz.t() if transposed else nz
        values = to_torch(np.asarray(arg.data), arg.dtype)  # the view's values, contiguous
        if not arg.numel:  # numpy may hand an empty array odd strides: give it the case's contiguous ones
            values = values.new_empty(arg.shape)
        if arg.format == "FRACTAL_NZ":  # ND values tagged NZ: torch_npu tiles them
            return self.seam.format_cast(self.seam.to_device(values), ACL_FORMAT_FRACTAL_NZ)
        if arg.is_contiguous:
            return self.seam.to_device(values)
        if arg.is_last_two_transposed:  # a transposed view of a contiguous device tensor
            return self.seam.to_device(values.transpose(-1, -2).contiguous()).transpose(-1, -2)
        # any other view: a flat buffer covering it, the values written through the same strides
        flat = values.new_zeros(arg.span)
        flat.as_strided(arg.shape, arg.strides).copy_(values)
        return self.seam.to_device(flat).as_strided(arg.shape, arg.strides)

    def _call(self, op: str, t: dict, attrs):
        """The fused call through the operator's binding (its record's); outputs under the operator's names."""
        common = {"reduce_op": str(attrs.get("reduceOp", "sum")), "comm_turn": int(attrs.get("commTurn", 0))}
        return binding_of(op, KIND).call(self, op, t, attrs, common)

    # --- the benchmark chain ---
    def _chain_local(self, op: str, t: dict, specs: dict):
        """The chain up to the all-reduce: this rank's stored (m, n) partial."""
        x1 = t["x1"]
        x1 = x1.reshape(rows(x1.shape), x1.shape[-1])  # 2-D activations (m, k), as the aclnn chain passes them
        return binding_of(op, KIND).chain_local(self, x1, t, specs)

    def _chain_rest(self, op: str, t: dict, partial, attrs, specs) -> dict:
        """The all-reduce (in place, SUM) and what the operator's chain does after it (its binding's chain_after);
        outputs under the fused names."""
        self.seam.all_reduce(partial, "sum")
        after = binding_of(op, KIND).chain_after
        if after is None:  # the reduced partial is the summed output
            name = operators.get(op).summed_output
            return {name: partial.reshape(specs[name].shape)}
        return after(self, op, t, partial, attrs)

    def _chain(self, call, t: dict, *, preflight: bool):
        """The whole chain. With `preflight`, every rank's local stage must have succeeded (an allgather of the
        statuses) before any rank enters the all-reduce, which would otherwise wait for a peer that raised."""
        specs = call.tensors
        if not preflight:
            return self._chain_rest(call.op, t, self._chain_local(call.op, t, specs), call.attrs, specs)
        try:
            partial = self._chain_local(call.op, t, specs)
            own = RankResult(ACLNN_SUCCESS)
        except (RuntimeError, ValueError, TypeError) as exc:
            own = failed(exc)
        peers = [(r, s) for r, s in enumerate(call.group.allgather(own.status)) if s and r != call.rank]
        if own.status or peers:
            if peers:
                own.message = (f"{own.message}; " if own.message else "the chain's local operators succeeded; ") + \
                    "not all-reduced: " + ", ".join(f"rank {r} failed with {s}" for r, s in peers)
            return own
        return self._chain_rest(call.op, t, partial, call.attrs, specs)

    # --- device timing ---
    def _timed(self, call, t: dict, chain: bool) -> RankResult:
        """`warmup` unmeasured runs, then `iterations` measured ones, each between the two events of its own pair
        (torch.npu.Event(enable_timing=True), recorded on the current stream); torch.npu.synchronize(), then
        start.elapsed_time(end) in milliseconds per pair. Seconds come back as the output "seconds". (The
        inplace fused call writes its residual every run: the timing, not the values, is the answer.)"""
        warmup, iterations = int(getattr(call, "warmup", 0)), int(call.iterations)
        pairs = [(self.seam.event(), self.seam.event()) for _ in range(iterations)]
        i = 0
        try:
            for i in range(warmup + iterations):
                pair = pairs[i - warmup] if i >= warmup else None
                if pair:
                    pair[0].record()
                if chain:
                    self._chain(call, t, preflight=False)
                else:
                    self._call(call.op, t, call.attrs)
                if pair:
                    pair[1].record()
            self.seam.synchronize()
            seconds = [float(start.elapsed_time(end)) / 1000.0 for start, end in pairs]
        except (RuntimeError, ValueError, TypeError) as exc:
            return failed(exc, library=self._library(call.op, chain),
                          prefix=f"timed run {i} ({'chain' if chain else 'fused'}): ")
        return RankResult(ACLNN_SUCCESS, {"seconds": np.asarray(seconds, dtype=np.float64)})

    @staticmethod
    def _library(op: str, chain: bool) -> str:
        """The client library a call goes through: MindSpeed for its fused bindings, torch_npu otherwise."""
        return ANSWERED_BY_MINDSPEED if not chain and binding_of(op, KIND).mindspeed else ANSWERED_BY_TORCH_NPU

    def probe(self) -> RankResult:
        """What this rank's stack can do, once per worker group: whether npu_format_cast(t, 29) yields FRACTAL_NZ
        (with internal formats disabled it warns and leaves ND). Outputs "nz" [0|1]; the message says why not."""
        import torch
        try:
            cast = self.seam.format_cast(self.seam.to_device(torch.zeros((16, 16), dtype=torch.float16)),
                                         ACL_FORMAT_FRACTAL_NZ)
            got = self.seam.npu_format(cast)
        except (RuntimeError, ValueError, TypeError, AttributeError) as exc:
            return RankResult(ACLNN_SUCCESS, {"nz": np.zeros(1, dtype=np.int64)},
                              f"npu_format_cast(t, 29) raised: {type(exc).__name__}: {exc}"[:300])
        nz = got == ACL_FORMAT_FRACTAL_NZ
        why = "" if nz else (f"npu_format_cast(t, {ACL_FORMAT_FRACTAL_NZ}) left the tensor in format {got} (internal "
                             f"formats disabled, as torch_npu sets them on Atlas A2)")
        return RankResult(ACLNN_SUCCESS, {"nz": np.asarray([int(nz)], dtype=np.int64)}, why)

    def invoke(self, call) -> RankResult:
        from .torch_cpu import to_numpy
        if getattr(call, "mode", "fused") == PROBE:
            return self.probe()
        if call.shape_only:
            raise ValueError(f"{call.case_id}: shape-only cases are declared unsupported by the torch_npu backend")
        mode = getattr(call, "mode", "fused")
        if mode not in ("fused", "chain"):
            raise ValueError(f"{call.case_id}: unknown mode {mode!r} (fused or chain)")
        outputs = operators.get(call.op).abi.outputs  # the ones the binding allocates itself
        t = {n: self._device_tensor(a) for n, a in call.tensors.items() if a is not None and n not in outputs}
        if int(getattr(call, "iterations", 0) or 0) > 0:
            return self._timed(call, t, mode == "chain")
        busy = self.busy_work is not None and mode == "fused"
        if busy:  # N cores held first (busy.py); the call's wait below has no timeout but the engine's deadline
            self.seam.launch_busy(self.busy_stream, self.busy_operands, self.busy_work.launches)
        try:
            if mode == "chain":
                produced = self._chain(call, t, preflight=True)
                if isinstance(produced, RankResult):  # refused before the all-reduce
                    return produced
            else:
                produced = self._call(call.op, t, call.attrs)
            self.seam.synchronize()
        except (RuntimeError, ValueError, TypeError) as exc:  # what TORCH_CHECK and argument parsing raise
            return failed(exc, library=self._library(call.op, mode == "chain"))
        finally:
            if busy:
                self.seam.wait_stream(self.busy_stream)
        result = {}
        for name, tensor in produced.items():
            spec = call.tensors[name]
            host = self.seam.to_host(tensor)
            got = (str(host.dtype).removeprefix("torch."), tuple(host.shape))
            want_dtype = "int64" if spec.dtype == "uint64" else spec.dtype
            if got != (want_dtype, spec.shape):
                return RankResult(ACLNN_ERR_INNER, {}, f"the binding returned {name} as {got[0]}{list(got[1])}, "
                                                       f"the case's descriptor is {spec.dtype}{list(spec.shape)}")
            result[name] = to_numpy(host, spec.dtype)
        return RankResult(ACLNN_SUCCESS, result)


# --- the backend (runs in the test runner's process) -------------------------------------------------------

class TorchNpuBackend:
    name = "torch_npu"

    def __init__(self, *, seam: str = DEFAULT_SEAM, seam_options: dict | None = None,
                 accept_v2_dispatch: bool | None = None, deadline_s: float = 120.0, env: dict | None = None,
                 busy_cores: int = 0, busy_work: BusyWork | None = None):
        """seam: import path of the seam class (a stand-in in tests); seam_options: its keyword arguments;
        accept_v2_dispatch: run V3 cases without comm scales through torch_npu's V2/V1 entry points;
        env: the rank processes' environment (default: this process's); busy_cores: --busy-cores (busy_work
        replaces the default BusyWork, for tests)."""
        self.seam, self.seam_options = seam, dict(seam_options or {})
        seam_class = import_attr(seam)
        check = getattr(seam_class, "check", None)
        if callable(check):  # a missing or broken torch_npu is one start-up line, not a failure in every test
            check(env=env, **self.seam_options)
        self.capabilities = seam_class.capabilities(**self.seam_options)
        if accept_v2_dispatch is None:
            accept_v2_dispatch = os.environ.get("MC2_TORCH_NPU_V3_VIA_V2", "") == "1"
        self.accept_v2_dispatch = accept_v2_dispatch
        self.deadline_s, self.env = deadline_s, dict(os.environ if env is None else env, **RANK_ENV)
        self.busy_work = busy_work or work_for(busy_cores)
        self._engine = None
        self._probed: tuple[int, str | None] | None = None  # (the engine's group count when probed, NZ reason)
        self.restarts = 0  # worker groups closed after a failure that may have poisoned them

    def describe(self) -> dict[str, str]:
        return {"backend": "torch_npu (npu_mm_all_reduce_base; MindSpeed npu_mm_all_reduce_add_rms_norm(_))",
                "target": TARGET_HARDWARE,
                **self.capabilities["versions"], "seam": self.seam,
                "status codes": "read only after 'call aclnnXxx failed, error code is' in the exception (never "
                                "another number: messages hold the pid), else ACLNN_ERR_INNER",
                "V3 without comm scales": "run via V2/V1" if self.accept_v2_dispatch else "declared unsupported",
                "benchmark chain": "torch.matmul / npu_quant_matmul, + bias / x3, dist.all_reduce(SUM), "
                                   "npu_add_rms_norm; no low-bit communication",
                "timing": "torch.npu.Event(enable_timing=True) pairs, synchronize, elapsed_time",
                "launch": "ASCEND_LAUNCH_BLOCKING=1 in every rank: no task queue, each launch synchronised, so a "
                          "failure belongs to its call",
                "who answered": "aclnn (status from 'call aclnnXxx failed, error code is N'), or torch_npu / "
                                "MindSpeed's own check before aclnn (judged as rejected before aclnn)",
                "NZ": "probed once per worker group (npu_format_cast(t, 29), get_npu_format); declared "
                      "unsupported where the stack leaves ND",
                "workers": "restarted after a launch failure, a task-queue error or an error of unknown origin",
                **({"busy cores": f"{self.busy_work.cores} cube cores held per fused call by {self.busy_work.launches} "
                                  f"x torch.matmul on a second stream"} if self.busy_work else {})}

    def unsupported_reason(self, inv: Invocation) -> str | None:
        return unsupported_reason(inv, marn_available=self.capabilities["marn"],
                                  accept_v2_dispatch=self.accept_v2_dispatch) or self._stack_reason(inv)

    def _stack_reason(self, inv: Invocation) -> str | None:
        """What the ranks' stack cannot do for this invocation, as their probe found (only NZ so far); asked only
        of cases that need it, once per worker group."""
        if not uses_nz(inv):
            return None
        engine = self._engine_for_runs()
        engine.open_group(inv.world_size, tuple(inv.devices))
        if self._probed is None or self._probed[0] != engine.groups_started:
            probe = Invocation(inv.op, inv.world_size, tuple({} for _ in range(inv.world_size)), {},
                               case_id="(probe: what the stack can do)", devices=tuple(inv.devices))
            results = engine.run(probe, mode=PROBE)
            why = [f"rank {r}: {res.message}" for r, res in enumerate(results) if not int(res.outputs["nz"][0])]
            self._probed = (engine.groups_started, f"FRACTAL_NZ not producible on this stack: {why[0]}"
                            if why else None)
        return self._probed[1]

    def _run(self, inv: Invocation, **kwargs) -> list[RankResult]:
        """The rank engine's run; then, if a rank's failure may have poisoned its process (a launch failure, a
        task-queue error, an error of unknown origin), the group is closed so the next invocation starts fresh."""
        engine = self._engine_for_runs()
        results = engine.run(inv, **kwargs)
        if any(poisons_worker(res) for res in results):
            engine.close()
            self.restarts += 1
        return results

    def _engine_for_runs(self):
        if self._engine is None:
            from ..engine import RankEngine
            options = {"seam": self.seam, "seam_options": self.seam_options}
            if self.busy_work is not None:
                options["busy"] = asdict(self.busy_work)
            self._engine = RankEngine(program=PROGRAM, options=options, deadline_s=self.deadline_s, env=self.env)
        return self._engine

    def invoke(self, inv: Invocation) -> list[RankResult]:
        reason = self.unsupported_reason(inv)
        if reason:
            raise ValueError(f"{inv.case_id}: not expressible through torch_npu: {reason}")
        return self._run(inv)

    def chain_unsupported_reason(self, inv: Invocation) -> str | None:
        return chain_unsupported_reason(inv) or self._stack_reason(inv)

    def invoke_chain(self, inv: Invocation) -> list[RankResult]:
        """The benchmark chain as torch / torch_npu's separate operators on the device (TorchNpuRankProgram._chain),
        outputs under the fused operator's names."""
        reason = chain_unsupported_reason(inv) or self._stack_reason(inv)
        if reason:
            raise ValueError(f"{inv.case_id}: no torch_npu chain: {reason}")
        return self._run(inv, mode="chain")

    def timed(self, inv: Invocation, *, chain: bool, warmup: int, iterations: int) -> Timing:
        """Device-event latencies (torch.npu.Event elapsed_time) of `iterations` runs of the fused call or the chain
        after `warmup`; per iteration the slowest rank's (the collective completes when its last rank does)."""
        reason = (chain_unsupported_reason(inv) or self._stack_reason(inv)) if chain else self.unsupported_reason(inv)
        if reason:
            raise ValueError(f"{inv.case_id}: not expressible through torch_npu{' (chain)' if chain else ''}: {reason}")
        engine = self._engine_for_runs()
        try:
            return engine.timed(inv, chain=chain, warmup=warmup, iterations=iterations)
        except RuntimeError:  # a rank's timed run failed: its process may be poisoned as an invocation's may (_run)
            engine.close()
            self.restarts += 1
            raise

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
