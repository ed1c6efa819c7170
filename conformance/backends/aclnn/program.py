"""One rank of the aclnn backend: a RankProgram (conformance/engine/program.py) that calls the C API directly.

Life: open() = aclInit, aclrtSetDevice, aclrtCreateStream (rank 0 also makes the HCCL root info);
connect(root) = HcclCommInitRootInfo + HcclGetCommName (the operators' `group`); invoke() per case;
close() = HcclCommDestroy, aclrtDestroyStream, aclrtResetDevice, aclFinalize.

invoke(): every tensor is copied to the device in the layout its TensorArg describes (strides and storage
dims passed as given), GetWorkspaceSize runs, and only if every rank accepted (a pre-flight allgather of the
statuses: a rank that launched the collective while a peer rejected would hang) the operator executes and
the stream is synchronised. Statuses come back exactly as the library returned them. A failing set-up call
(malloc, copy, tensor creation, the NZ weight conversion) is not the operator's answer: it raises
AclnnCallError, which the engine reports as a backend error. Everything allocated is released in a finally.

Failure paths (a failed launch, a failed or timed-out synchronise): device memory is freed, and the stream
destroyed, only once nothing on the stream can still use it. hicann/runtime@681ef761: aclrtFree frees at once,
「接口内部不会进行隐式的Device同步或流同步、也不会等待使用该内存的任务完成」 (docs/zh/api_ref/
11-01_device_memory_malloc_and_free.md:612); aclrtDestroyStream needs a prior aclrtSynchronizeStream
(docs/zh/api_ref/06_stream_management.md:262); aclrtStreamAbort stops the running and drops the queued tasks of a
stream (line 701); aclrtDestroyStreamForce destroys it without waiting (line 305). So `_settle()`, before every
release: a stream with launches not yet synchronised (a launch failed after others, or before its sync) is
synchronised (with the timeout) first; a stream whose synchronise failed or timed out is aborted
(aclrtStreamAbort), then force-destroyed (aclrtDestroyStreamForce), and only then is memory freed; the next
invocation creates a fresh stream. Without either function (an older CANN) the buffers of that invocation are
kept, not freed. close() synchronises before aclrtDestroyStream, before HcclCommDestroy.

--busy-cores (option `busy`, conformance/backends/busy.py): open() also creates a second stream limited to N cube
cores (aclrtSetStreamResLimit); each fused call that every rank accepted first launches the busy matmuls on it
(the thread using that stream's limit only for them: aclrtUseStreamResInCurrentThread / Unuse), then the
operator on the main stream, waits for the main stream without a timeout of its own (the rank engine's deadline
ends a hang as `timeout`), then for the busy stream. Chain and timed runs launch no busy work.

RankCall.mode "chain" runs the benchmark chain as separate operators instead (_ChainMixin._chain_plan, with the
operator's `Chain`, its record's aclnn binding in conformance/backends/bindings/aclnn_*.py: every GetWorkspaceSize
first, the same pre-flight, then the launches and HcclAllReduce on the stream, one sync, the
outputs downloaded under the fused names); RankCall.iterations > 0 times the fused call or the chain with
events (_ChainMixin._timed) and answers the latencies as the output "seconds".
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from ctypes import byref, c_uint64, c_void_p
from typing import Callable

import numpy as np

from ... import dtypes, quant
from ...protocol import ACLNN_ERR_PARAM_INVALID, PHASE_LAUNCH, PHASE_WORKSPACE, RankResult, TensorArg
from .. import binding_of
from ..busy import CUBE_CORE, WAIT_FOREVER, BusyWork
from . import abi, libs

DEFAULT_SYNC_TIMEOUT_MS = 60000
IDLE, LAUNCHED, STUCK = "idle", "launched", "stuck"  # the stream's state (AclnnRankProgram.stream_state)
KIND = "aclnn"  # the key of this backend's bindings in the operator records


class AclnnCallError(RuntimeError):
    """A set-up or teardown call failed: the harness cannot run the case (not an operator status)."""


def _check(code: int, call: str) -> None:
    if code:
        raise AclnnCallError(f"{call} returned {code}")


# --- layouts: how a TensorArg's values sit in device memory ---------------------------------------------

def storage_dims(t: TensorArg) -> tuple[int, ...]:
    """The storage the view lives in: given (NZ), the view itself, the transposed base, else a flat span
    (UNCONFIRMED what aclnn expects for a general strided view; the suite's strided cases are rejections)."""
    if t.storage_shape is not None:
        return tuple(t.storage_shape)
    if t.is_contiguous:
        return tuple(t.shape)
    if t.is_last_two_transposed:
        return tuple(t.shape[:-2]) + (t.shape[-1], t.shape[-2])
    return (t.span,)


def _holds_storage(t: TensorArg) -> bool:
    """The data is the storage itself (an NZ tiling), not the view's values."""
    return t.storage_shape is not None and tuple(np.shape(t.data)) == tuple(t.storage_shape)


def host_storage(t: TensorArg) -> np.ndarray:
    """A flat host buffer laid out as the device storage: each view element at offset sum(i * stride).
    Gaps of a strided view are zero (a correct operator never reads them)."""
    dt = dtypes.np_dtype(t.dtype)
    if _holds_storage(t):
        return np.ascontiguousarray(t.data, dtype=dt).reshape(-1)
    buf = np.zeros(t.span, dt)
    if buf.size:
        view = np.lib.stride_tricks.as_strided(buf, t.shape, tuple(s * dt.itemsize for s in t.strides))
        view[...] = np.asarray(t.data)
    return buf


def view_of(storage: np.ndarray, t: TensorArg) -> np.ndarray:
    """The view's values read back out of a flat storage buffer, as a fresh array of the view's shape."""
    if storage.size == 0:
        return np.zeros(t.shape, storage.dtype)
    item = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(storage, t.shape, tuple(s * item for s in t.strides)).copy()


def _is_standard_nz(t: TensorArg) -> bool:
    """A 2-D weight stored as the 4-D NZ tiling of its stored (k, n) or, transposed, (n, k) matrix."""
    if t.format != "FRACTAL_NZ" or len(t.shape) != 2 or not _holds_storage(t):
        return False
    rows, cols = _nz_stored_shape(t)
    return tuple(t.storage_shape) == quant.nz_storage_shape(rows, cols, dtypes.np_dtype(t.dtype).itemsize)


def _nz_stored_shape(t: TensorArg) -> tuple[int, int]:
    transposed = t.is_last_two_transposed and not t.is_contiguous
    return (t.shape[1], t.shape[0]) if transposed else (t.shape[0], t.shape[1])


# --- resources of one invocation -----------------------------------------------------------------------

class Resources:
    """Every tensor, int array and device buffer one invocation creates; release() frees them all."""

    def __init__(self, api: abi.Api):
        self.api = api
        self.tensors: list[int] = []
        self.arrays: list[int] = []
        self.buffers: list[int] = []
        self.scalars: list[int] = []
        self.events: list[int] = []
        self._scalar_values: list = []  # the host values aclCreateScalar points at, kept alive with the scalar

    def malloc(self, nbytes: int) -> int:
        ptr = c_void_p()
        _check(self.api.aclrtMalloc(byref(ptr), nbytes, abi.ACL_MEM_MALLOC_HUGE_FIRST), f"aclrtMalloc({nbytes})")
        self.buffers.append(ptr.value)
        return ptr.value

    def upload(self, host: np.ndarray, capacity: int = 0) -> int | None:
        """Device copy of a flat host buffer in a buffer of at least `capacity` bytes; None when empty
        (aclrtMalloc refuses zero bytes: an empty tensor gets a null data pointer)."""
        size = max(capacity, host.nbytes)
        if size == 0:
            return None
        addr = self.malloc(size)
        if host.nbytes:
            _check(self.api.aclrtMemcpy(addr, size, host.ctypes.data, host.nbytes, abi.ACL_MEMCPY_HOST_TO_DEVICE),
                   f"aclrtMemcpy(H2D, {host.nbytes} bytes)")
        return addr

    def download(self, addr: int | None, count: int, dtype: np.dtype) -> np.ndarray:
        host = np.empty(count, dtype)
        if addr and host.nbytes:
            _check(self.api.aclrtMemcpy(host.ctypes.data, host.nbytes, addr, host.nbytes,
                                        abi.ACL_MEMCPY_DEVICE_TO_HOST), f"aclrtMemcpy(D2H, {host.nbytes} bytes)")
        return host

    def tensor(self, t: TensorArg, fmt: str, storage, addr: int | None) -> int:
        view, strides, storage = abi.int64_array(t.shape), abi.int64_array(t.strides), abi.int64_array(storage)
        handle = self.api.aclCreateTensor(view, len(view), dtypes.info(t.dtype).acl_enum, strides, 0,
                                          abi.ACL_FORMAT[fmt], storage, len(storage), addr)
        if not handle:
            raise AclnnCallError(f"aclCreateTensor({t.dtype} {t.shape}, {fmt}) returned NULL")
        self.tensors.append(handle)
        return handle

    def int_array(self, values) -> int:
        arr = abi.int64_array(values)
        handle = self.api.aclCreateIntArray(arr, len(arr))
        if not handle:
            raise AclnnCallError(f"aclCreateIntArray({list(values)}) returned NULL")
        self.arrays.append(handle)
        return handle

    def scalar_float(self, value: float) -> int:
        """An ACL_FLOAT aclScalar (the aclnnAdd alpha)."""
        host = ctypes.c_float(value)
        handle = self.api.aclCreateScalar(ctypes.addressof(host), abi.ACL_FLOAT)
        if not handle:
            raise AclnnCallError(f"aclCreateScalar({value}, ACL_FLOAT) returned NULL")
        self.scalars.append(handle)
        self._scalar_values.append(host)
        return handle

    def event(self) -> int:
        ev = c_void_p()
        _check(self.api.aclrtCreateEvent(byref(ev)), "aclrtCreateEvent")
        self.events.append(ev.value)
        return ev.value

    def release(self, keep_buffers: bool = False) -> None:
        """Events first, then tensors (they point into the buffers); return codes are ignored: nothing is left
        to do. `keep_buffers`: the device memory is left allocated (a stream that could not be stopped may
        still write it)."""
        for handle in reversed(self.events):
            self.api.aclrtDestroyEvent(handle)
        for handle in reversed(self.scalars):
            self.api.aclDestroyScalar(handle)
        for handle in reversed(self.tensors):
            self.api.aclDestroyTensor(handle)
        for handle in reversed(self.arrays):
            self.api.aclDestroyIntArray(handle)
        for addr in reversed(self.buffers if not keep_buffers else ()):
            self.api.aclrtFree(addr)
        self.tensors, self.arrays, self.buffers, self.scalars, self.events = [], [], [], [], []
        self._scalar_values = []


# --- the benchmark chain and device timing (RankCall.mode "chain", RankCall.iterations > 0) -----------------

@dataclass
class _Launch:
    """One launch on the stream: an aclnn execute (workspace, executor) or the chain's HcclAllReduce."""
    fn: str
    args: tuple


@dataclass
class Plan:
    launches: list  # _Launch, in stream order
    status: int = 0
    message: str = ""


class ChainBuffers:
    """Every device tensor the chain uses, made once per invocation (GetWorkspaceSize may run many times)."""

    def __init__(self):
        self.handles: dict[str, int | None] = {}
        self.addrs: dict[str, int | None] = {}
        self.transpose_x2 = False
        self.count = 0  # elements the all-reduce moves
        self.dtype = ""  # of the all-reduced buffer
        self.results: dict[str, tuple[str, TensorArg]] = {}  # fused output name -> (buffer name, descriptor)


def matrix_arg(t: TensorArg, cols: int | None = None) -> TensorArg:
    """A (rows, last) contiguous copy of a tensor's values: the chain's operators take 2-D activations."""
    data = np.ascontiguousarray(np.asarray(t.data))
    last = cols if cols is not None else (t.shape[-1] if t.shape else 1)
    return TensorArg.from_array(data.reshape(-1, last) if data.size or last else data.reshape(0, 0), t.dtype)


def rows(t: TensorArg) -> int:
    """The m of an activation: the product of all but its last dimension."""
    n = 1
    for d in t.shape[:-1]:
        n *= d
    return n


@dataclass(frozen=True)
class Chain:
    """The benchmark chain of one operator as this backend runs it: the aclnn backend's binding of an operator,
    named by its record (`bindings["aclnn"]`, in conformance/backends/bindings/aclnn_*.py). Functions of the rank
    program (they plan through its `_gws`, one GetWorkspaceSize appended to the plan) that make the chain's
    buffers, plan the separate operators before the all-reduce (answering the buffer to reduce) and after it."""
    buffers: Callable[..., None]  # (program, res, call, b: ChainBuffers, put, scratch); sets b.count/dtype/results
    local: Callable[..., str]  # (program, res, call, b, plan) -> the name of the buffer to all-reduce
    after: Callable[..., None] | None = None  # (program, res, call, b, plan): after the all-reduce into "reduced"


def chain_unsupported(op: str) -> str | None:
    """Why this backend has no chain for operator `op` (None: its record names one)."""
    return None if binding_of(op, KIND) is not None else \
        f"the aclnn backend does not implement the benchmark chain of {op}"


def chain_of(op: str) -> Chain:
    reason = chain_unsupported(op)
    if reason:
        raise AclnnCallError(reason)
    return binding_of(op, KIND)


class _ChainMixin:
    """The chain (protocol.invoke_chain) and device timing of AclnnRankProgram."""

    def _invoke_mode(self, call, mode: str) -> RankResult:
        if call.shape_only:
            raise AclnnCallError(f"{call.case_id}: shape-only invocations have no chain or timing")
        chain = mode == "chain"
        timed = int(getattr(call, "iterations", 0)) > 0
        self._stream_ready()
        res = Resources(self.api)
        try:
            if chain:
                bufs = self._chain_buffers(res, call)
                plan_fn = lambda: self._chain_plan(res, call, bufs)  # noqa: E731
            else:
                op = abi.operator_abi(call.op)
                handles, addrs = {}, {}
                for name in op.tensors:
                    handles[name], addrs[name] = self._make_tensor(res, call.tensors.get(name), False)
                plan_fn = lambda: self._fused_plan(op, handles, call.attrs)  # noqa: E731
            plan = plan_fn()
            refused = self._preflight(call, plan.status, plan.message)
            if refused is not None:
                return refused
            if timed:
                return self._timed(res, call, plan, plan_fn)
            code, message = self._launch_all(res, plan)
            if code:
                return RankResult(code, {}, message, PHASE_LAUNCH)
            code = self._sync("the chain")
            if code:
                return RankResult(code, {}, f"aclrtSynchronizeStreamWithTimeout({self.sync_timeout_ms} ms) after "
                                            f"the chain returned {code}", PHASE_LAUNCH)
            outputs = {}
            for name, (buf, t) in bufs.results.items():
                host = res.download(bufs.addrs[buf], t.numel, dtypes.np_dtype(t.dtype))
                outputs[name] = host.reshape(t.shape)
            return RankResult(0, outputs, "")
        finally:
            self._release(res)

    # --- plans: GetWorkspaceSize of every operator, before anything is launched ---

    def _fused_plan(self, op: abi.OperatorAbi, handles: dict, attrs) -> Plan:
        status, workspace, executor = self._workspace_size(op, handles, attrs)
        if status:
            return Plan([], status, f"{op.workspace_fn} returned {status}")
        return Plan([_Launch(op.execute_fn, (workspace, executor))])

    def _gws(self, plan: Plan, fn: str, *args) -> None:
        """One operator's GetWorkspaceSize; the first failure is the plan's status."""
        if plan.status:
            return
        workspace, executor = c_uint64(), c_void_p()
        status = self.api.fn(fn + "GetWorkspaceSize")(*args, byref(workspace), byref(executor))
        if status:
            plan.status, plan.message = status, f"{fn}GetWorkspaceSize returned {status} (benchmark chain)"
        else:
            plan.launches.append(_Launch(fn, (workspace.value, executor)))

    def _chain_buffers(self, res: Resources, call) -> ChainBuffers:
        """Every device tensor of the operator's chain (its `Chain`), outputs under the fused names."""
        b = ChainBuffers()
        h, a = b.handles, b.addrs

        def put(name, arg):
            h[name], a[name] = (None, None) if arg is None else self._make_tensor(res, arg, False)

        def scratch(name, dtype, shape):
            desc = TensorArg.descriptor(dtype, shape)
            nbytes = desc.numel * dtypes.np_dtype(dtype).itemsize
            a[name] = res.malloc(nbytes) if nbytes else None
            h[name] = res.tensor(desc, "ND", desc.shape, a[name])
            return desc

        chain_of(call.op).buffers(self, res, call, b, put, scratch)
        return b

    def _chain_weight(self, res: Resources, b: ChainBuffers, x2: TensorArg) -> None:
        """A chain's weight x2 for a matmul that takes the stored matrix and a transposeX2 flag (aclnnQuantMatmulV4):
        (k, n) or with transposeX2 (n, k) (aclnnQuantMatmulV4.md x2 / transposeX2 rows), into b.handles/addrs["x2"]
        and b.transpose_x2; an NZ weight goes the documented way (ND upload, aclnnTransMatmulWeight)."""
        if _is_standard_nz(x2):
            rows, cols = _nz_stored_shape(x2)
            stored = quant.nz_to_nd(np.asarray(x2.data), rows, cols)
            b.transpose_x2 = x2.is_last_two_transposed and not x2.is_contiguous
        elif x2.is_last_two_transposed and not x2.is_contiguous:
            stored, b.transpose_x2 = np.ascontiguousarray(np.asarray(x2.data).T), True
        else:
            stored, b.transpose_x2 = np.ascontiguousarray(np.asarray(x2.data)), False
        desc = TensorArg.from_array(stored, x2.dtype)
        if not _is_standard_nz(x2):
            b.handles["x2"], b.addrs["x2"] = self._make_tensor(res, desc, False)
            return
        b.handles["x2"], b.addrs["x2"] = self._weight_to_nz(res, desc, stored)

    def _chain_plan(self, res: Resources, call, b: ChainBuffers) -> Plan:
        """GetWorkspaceSize of each separate operator in order, then the all-reduce as a launch (the operator's
        `Chain`: what comes before the all-reduce, and after it)."""
        plan = Plan([])
        reduce_op = str(call.attrs.get("reduceOp", "sum"))
        if reduce_op not in abi.HCCL_REDUCE_OP or b.dtype not in abi.HCCL_DATA_TYPE:
            return Plan([], ACLNN_ERR_PARAM_INVALID, f"benchmark chain: HcclAllReduce has no {reduce_op} / {b.dtype}")
        chain = chain_of(call.op)
        partial = chain.local(self, res, call, b, plan)
        if plan.status:
            return plan
        plan.launches.append(_Launch("HcclAllReduce", (b.addrs[partial], b.addrs["reduced"], b.count,
                                                       abi.HCCL_DATA_TYPE[b.dtype], abi.HCCL_REDUCE_OP[reduce_op])))
        if chain.after:
            chain.after(self, res, call, b, plan)
        return plan

    # --- launching ---

    def _launch_all(self, res: Resources, plan: Plan, workspaces: dict | None = None) -> tuple[int, str]:
        """Every launch of the plan on the stream, in order; (first non-zero code, message) or (0, "").
        `workspaces` (launch index -> (addr, size)) lets repeated plans reuse their device workspaces."""
        workspaces = {} if workspaces is None else workspaces
        for i, launch in enumerate(plan.launches):
            self._launching()
            if launch.fn == "HcclAllReduce":
                send, recv, count, dtype, op = launch.args
                code = self.api.HcclAllReduce(send, recv, count, dtype, op, self.comm, self.stream)
            else:
                size, executor = launch.args
                addr, have = workspaces.get(i, (None, 0))
                if size > have:
                    addr, have = res.malloc(size), size
                    workspaces[i] = (addr, have)
                code = self.api.fn(launch.fn)(addr if size else None, size, executor, self.stream)
            if code:
                return code, f"{launch.fn} returned {code}"
        return 0, ""

    def _timed(self, res: Resources, call, plan: Plan, plan_fn) -> RankResult:
        """`warmup` unmeasured launches of the plan, then `iterations` measured ones, each between two events
        recorded on the stream; the stream is synchronised, each end event synchronised, then
        aclrtEventElapsedTime (ms) per pair. Seconds come back as the output "seconds"."""
        warmup, iterations = int(getattr(call, "warmup", 0)), int(call.iterations)
        pairs = [(res.event(), res.event()) for _ in range(iterations)]
        workspaces: dict = {}
        for i in range(warmup + iterations):
            if i:
                plan = plan_fn()  # an executor is spent by its launch: GetWorkspaceSize again
                if plan.status:
                    raise AclnnCallError(f"iteration {i}: {plan.message}")
            pair = pairs[i - warmup] if i >= warmup else None
            if pair:
                _check(self.api.aclrtRecordEvent(pair[0], self.stream), "aclrtRecordEvent(start)")
            code, message = self._launch_all(res, plan, workspaces)
            if code:
                return RankResult(code, {}, f"timed iteration {i}: {message}", PHASE_LAUNCH)
            if pair:
                _check(self.api.aclrtRecordEvent(pair[1], self.stream), "aclrtRecordEvent(end)")
        code = self._sync("the timed launches")
        if code:
            return RankResult(code, {}, f"aclrtSynchronizeStreamWithTimeout({self.sync_timeout_ms} ms) after the "
                                        f"timed launches returned {code}", PHASE_LAUNCH)
        seconds = []
        for start, end in pairs:
            _check(self.api.aclrtSynchronizeEvent(end), "aclrtSynchronizeEvent")
            ms = ctypes.c_float()
            _check(self.api.aclrtEventElapsedTime(byref(ms), start, end), "aclrtEventElapsedTime")
            seconds.append(ms.value / 1000.0)
        return RankResult(0, {"seconds": np.asarray(seconds, dtype=np.float64)}, "")


# --- the rank program ----------------------------------------------------------------------------------

class BusyStream:
    """The second stream of --busy-cores and its matmul operands, made once per rank (open) and released at close.
    Device memory of the operands is never read back: its values do not matter, only the cores it keeps busy."""

    def __init__(self, api: abi.Api, work: BusyWork, sync_timeout_ms: int):
        missing = [name for name in abi.BUSY_CORE_FUNCTIONS if getattr(api, name) is None]
        if missing:
            raise AclnnCallError(f"--busy-cores needs {', '.join(missing)} (CANN's stream resource limits), which "
                                 f"these libraries do not export")
        self.api, self.work, self.sync_timeout_ms = api, work, sync_timeout_ms
        self.stream = c_void_p()
        self.res = Resources(api)
        self.workspace = (None, 0)  # (address, bytes): grown, reused by every launch
        self.pending = False
        _check(api.aclrtCreateStream(byref(self.stream)), "aclrtCreateStream (busy stream)")
        _check(api.aclrtSetStreamResLimit(self.stream, CUBE_CORE, work.cores),
               f"aclrtSetStreamResLimit(busy stream, CUBE_CORE, {work.cores})")
        m, k, n = work.m, work.k, work.n
        self.operands = [self.res.tensor(TensorArg.descriptor(work.dtype, shape), "ND", shape,
                                         self.res.malloc(shape[0] * shape[1] * dtypes.np_dtype(work.dtype).itemsize))
                         for shape in ((m, k), (k, n), (m, n))]

    def launch(self) -> None:
        """`work.launches` matmuls on the busy stream, asynchronously, under its core limit."""
        api = self.api
        _check(api.aclrtUseStreamResInCurrentThread(self.stream), "aclrtUseStreamResInCurrentThread (busy stream)")
        try:
            for i in range(self.work.launches):
                size, executor = c_uint64(), c_void_p()
                _check(api.aclnnMatmulGetWorkspaceSize(*self.operands, abi.CUBE_MATH_KEEP_DTYPE, byref(size),
                                                       byref(executor)), f"busy aclnnMatmulGetWorkspaceSize ({i})")
                addr, have = self.workspace
                if size.value > have:
                    self.workspace = addr, have = self.res.malloc(size.value), size.value
                self.pending = True
                _check(api.aclnnMatmul(addr if size.value else None, size.value, executor, self.stream),
                       f"busy aclnnMatmul ({i})")
        finally:
            api.aclrtUnuseStreamResInCurrentThread(self.stream)

    def wait(self) -> None:
        if self.pending:
            code = self.api.aclrtSynchronizeStreamWithTimeout(self.stream, self.sync_timeout_ms)
            _check(code, f"aclrtSynchronizeStreamWithTimeout({self.sync_timeout_ms} ms) of the busy stream")
            self.pending = False

    def close(self) -> None:
        """Wait for what is queued (a failed wait: keep the memory, it may still be written), then release."""
        try:
            self.wait()
            done = True
        except AclnnCallError:
            done = False
        self.res.release(keep_buffers=not done)
        if done:
            self.api.aclrtDestroyStream(self.stream)


class AclnnRankProgram(_ChainMixin):
    def __init__(self, *, rank: int, world_size: int, device: int | None = None, lib_dir: str | None = None,
                 sync_timeout_ms: int = DEFAULT_SYNC_TIMEOUT_MS, busy: dict | None = None):
        """busy: the BusyWork of --busy-cores as a dict (picklable; None: off)."""
        self.rank, self.world_size = rank, world_size
        self.device = rank if device is None else device
        self.sync_timeout_ms = int(sync_timeout_ms)
        self.busy_work = BusyWork(**busy) if busy else None
        self.busy: BusyStream | None = None
        self.api = abi.Api(libs.load(lib_dir))
        self.stream = c_void_p()
        self.stream_state = IDLE  # IDLE, LAUNCHED (launches not yet synchronised) or STUCK (a synchronise failed)
        self.comm = c_void_p()
        self.group = b""
        self._initialised = self._device_set = False

    def open(self) -> bytes:
        code = self.api.aclInit(None)
        if code != abi.ACL_ERROR_REPEAT_INITIALIZE:  # already up in this process: fine, not ours to finalise
            _check(code, "aclInit(NULL)")
            self._initialised = True
        _check(self.api.aclrtSetDevice(self.device), f"aclrtSetDevice({self.device})")
        self._device_set = True
        _check(self.api.aclrtCreateStream(byref(self.stream)), "aclrtCreateStream")
        if self.busy_work is not None:
            self.busy = BusyStream(self.api, self.busy_work, self.sync_timeout_ms)
        if self.rank != 0:
            return b""
        root = abi.HcclRootInfo()
        _check(self.api.HcclGetRootInfo(byref(root)), "HcclGetRootInfo")
        return bytes(root)  # all 4108 bytes, not a NUL-terminated prefix

    def connect(self, token: bytes) -> None:
        if len(token) != abi.HCCL_ROOT_INFO_BYTES:
            raise AclnnCallError(f"HCCL root info of {len(token)} bytes, expected {abi.HCCL_ROOT_INFO_BYTES}")
        root = abi.HcclRootInfo.from_buffer_copy(token)
        _check(self.api.HcclCommInitRootInfo(self.world_size, byref(root), self.rank, byref(self.comm)),
               f"HcclCommInitRootInfo({self.world_size}, root, {self.rank})")
        name = ctypes.create_string_buffer(abi.HCCL_COMM_NAME_BYTES)
        _check(self.api.HcclGetCommName(self.comm, name), "HcclGetCommName")
        self.group = name.value

    def close(self) -> None:
        """Teardown in reverse; every step runs even if an earlier one fails. The stream is synchronised first (the
        documents ask for it before aclrtDestroyStream, and the communicator's tasks run on it); a stream that does
        not finish is aborted and force-destroyed instead."""
        if self.stream.value and self.stream_state != STUCK:
            self._sync("the last invocation (teardown)")
        if self.busy is not None:
            self.busy.close()
            self.busy = None
        if self.comm.value:
            self.api.HcclCommDestroy(self.comm)
            self.comm = c_void_p()
        if self.stream.value and self.stream_state == STUCK:
            self._drop_stream()
        if self.stream.value:
            if self.stream_state != STUCK:  # else: it cannot be stopped; destroying it would wait for its tasks
                self.api.aclrtDestroyStream(self.stream)
            self.stream = c_void_p()
        if self._device_set:
            self.api.aclrtResetDevice(self.device)
            self._device_set = False
        if self._initialised:
            self.api.aclFinalize()
            self._initialised = False

    # --- one call ---

    def invoke(self, call) -> RankResult:
        mode = getattr(call, "mode", "fused")
        if mode != "fused" or getattr(call, "iterations", 0):
            return self._invoke_mode(call, mode)
        op = abi.operator_abi(call.op)
        self._stream_ready()
        res = Resources(self.api)
        try:
            handles, addrs = {}, {}
            for name in op.tensors:
                handles[name], addrs[name] = self._make_tensor(res, call.tensors.get(name), call.shape_only)
            status, workspace, executor = self._workspace_size(op, handles, call.attrs)
            message = f"{op.workspace_fn} returned {status}" if status else ""
            if call.shape_only:
                return RankResult(status, {}, message, PHASE_WORKSPACE if status else "")
            refused = self._preflight(call, status, message)
            if refused is not None:
                return refused
            return self._execute(res, op, call, workspace, executor, addrs)
        finally:
            self._release(res)

    def _make_tensor(self, res: Resources, t: TensorArg | None, shape_only: bool):
        """(aclTensor handle, device address) of one argument; (None, None) for a null pointer."""
        if t is None:
            return None, None
        if shape_only or t.data is None:  # a descriptor: no memory behind it, GetWorkspaceSize only
            return res.tensor(t, t.format, storage_dims(t), None), None
        if _is_standard_nz(t):
            return self._nz_weight(res, t)
        addr = res.upload(host_storage(t))
        return res.tensor(t, t.format, storage_dims(t), addr), addr

    def _nz_weight(self, res: Resources, t: TensorArg):
        """The fused call's NZ weight: the stored ND matrix, converted with the view's strides (below)."""
        rows, cols = _nz_stored_shape(t)
        return self._weight_to_nz(res, t, quant.nz_to_nd(np.asarray(t.data), rows, cols))

    def _weight_to_nz(self, res: Resources, desc: TensorArg, nd: np.ndarray):
        """The documented NZ path (V3 document, CreateWeightNzAclTensor): the stored ND matrix `nd` in a buffer
        of aclnnCalculateMatmulWeightSizeV2 elements, an ND tensor described by `desc`, then
        aclnnTransMatmulWeight converts it to NZ in place on the stream. (handle, device address)."""
        rows, cols = nd.shape
        enum = dtypes.info(desc.dtype).acl_enum
        size = c_uint64()
        _check(self.api.aclnnCalculateMatmulWeightSizeV2(res.int_array((rows, cols)), enum, byref(size)),
               f"aclnnCalculateMatmulWeightSizeV2([{rows}, {cols}])")
        addr = res.upload(nd.reshape(-1), capacity=size.value * nd.itemsize)
        handle = res.tensor(desc, "ND", (rows, cols), addr)
        workspace, executor = c_uint64(), c_void_p()
        _check(self.api.aclnnTransMatmulWeightGetWorkspaceSize(handle, byref(workspace), byref(executor)),
               "aclnnTransMatmulWeightGetWorkspaceSize")
        ws_addr = res.malloc(workspace.value) if workspace.value else None
        self._launching()
        _check(self.api.aclnnTransMatmulWeight(ws_addr, workspace.value, executor, self.stream),
               "aclnnTransMatmulWeight")
        self._sync("aclnnTransMatmulWeight", raise_on_error=True)
        return handle, addr

    def _workspace_size(self, op: abi.OperatorAbi, handles: dict, attrs) -> tuple[int, int, c_void_p]:
        scalars = {"epsilon": float(attrs.get("epsilon", 1e-6)), "group": self.group,
                   "reduceOp": _c_string(attrs.get("reduceOp", "sum")),
                   "commTurn": int(attrs.get("commTurn", 0)), "streamMode": int(attrs.get("streamMode", 1))}
        workspace, executor = c_uint64(), c_void_p()
        args = ([handles[n] for n in op.inputs] + [scalars[s] for s in op.scalars]
                + [handles[n] for n in op.outputs] + [byref(workspace), byref(executor)])
        status = self.api.fn(op.workspace_fn)(*args)
        return status, workspace.value, executor

    def _preflight(self, call, status: int, message: str) -> RankResult | None:
        """Execute only if every rank accepted; otherwise answer with this rank's own status."""
        statuses = call.group.allgather(status)
        peers = [(r, s) for r, s in enumerate(statuses) if s and r != call.rank]
        if not status and not peers:
            return None
        if peers:
            refusal = ", ".join(f"rank {r} rejected it with {s}" for r, s in peers)
            message = f"{message}; " if message else "GetWorkspaceSize accepted; "
            message += f"not executed: {refusal}"
        return RankResult(status, {}, message, PHASE_WORKSPACE if status else "")

    def _execute(self, res: Resources, op: abi.OperatorAbi, call, workspace: int, executor, addrs) -> RankResult:
        ws_addr = res.malloc(workspace) if workspace else None
        if self.busy is None:
            return self._launch_and_collect(res, op, call, ws_addr, workspace, executor, addrs, self.sync_timeout_ms)
        self.busy.launch()  # N cores busy first; the operator's own wait is then the engine deadline's (busy.py)
        try:
            return self._launch_and_collect(res, op, call, ws_addr, workspace, executor, addrs, WAIT_FOREVER)
        finally:
            self.busy.wait()

    def _launch_and_collect(self, res: Resources, op: abi.OperatorAbi, call, ws_addr, workspace: int, executor,
                            addrs, timeout_ms: int) -> RankResult:
        self._launching()
        code = self.api.fn(op.execute_fn)(ws_addr, workspace, executor, self.stream)
        if code:
            return RankResult(code, {}, f"{op.execute_fn} returned {code}", PHASE_LAUNCH)
        code = self._sync(op.execute_fn, timeout_ms=timeout_ms)
        if code:
            return RankResult(code, {}, f"aclrtSynchronizeStreamWithTimeout({timeout_ms} ms) after "
                                        f"{op.execute_fn} returned {code} (a timeout if the stream did not finish)",
                                PHASE_LAUNCH)
        outputs = {}
        for name in op.results:
            t = call.tensors.get(name)
            if t is not None:
                storage = res.download(addrs[name], t.span, dtypes.np_dtype(t.dtype))
                outputs[name] = view_of(storage, t)
        return RankResult(0, outputs, "")

    def _sync(self, after: str, raise_on_error: bool = False, *, timeout_ms: int | None = None) -> int:
        code = self.api.aclrtSynchronizeStreamWithTimeout(self.stream, self.sync_timeout_ms if timeout_ms is None
                                                          else timeout_ms)
        self.stream_state = STUCK if code else IDLE
        if raise_on_error:
            _check(code, f"aclrtSynchronizeStreamWithTimeout after {after}")
        return code

    # --- the stream's state, and the failure paths (module docstring) ---

    def _stream_ready(self) -> None:
        """A fresh stream where a failure path dropped the last one."""
        if not self.stream.value:
            _check(self.api.aclrtCreateStream(byref(self.stream)), "aclrtCreateStream (after a dropped stream)")
            self.stream_state = IDLE

    def _launching(self) -> None:
        """Before each launch: the stream has (or may have, if the launch fails half-way) work on it."""
        if self.stream_state == IDLE:
            self.stream_state = LAUNCHED

    def _settle(self) -> bool:
        """Make the stream idle before memory is freed; False if it cannot be (keep the memory)."""
        if self.stream_state == LAUNCHED:  # a failed launch, or an error before the sync: wait for what is queued
            self._sync("a failed invocation")
        if self.stream_state == STUCK:
            return self._drop_stream()
        return True

    def _drop_stream(self) -> bool:
        """A stream that did not finish: stop and drop its tasks, destroy it without waiting. True once nothing
        can run on it any more."""
        aborted = self.api.aclrtStreamAbort is not None and self.api.aclrtStreamAbort(self.stream) == 0
        if aborted:
            self.stream_state = IDLE
        forced = self.api.aclrtDestroyStreamForce is not None and self.api.aclrtDestroyStreamForce(self.stream) == 0
        if forced:
            self.stream, self.stream_state = c_void_p(), IDLE
        return aborted or forced

    def _release(self, res: Resources) -> None:
        res.release(keep_buffers=not self._settle())


def _c_string(value) -> bytes | None:
    return None if value is None else str(value).encode()

