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
"""

from __future__ import annotations

import ctypes
from ctypes import byref, c_uint64, c_void_p

import numpy as np

from ... import dtypes, quant
from ...protocol import PHASE_LAUNCH, PHASE_WORKSPACE, RankResult, TensorArg
from . import abi, libs

DEFAULT_SYNC_TIMEOUT_MS = 60000


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

    def release(self) -> None:
        """Tensors first (they point into the buffers); return codes are ignored: nothing is left to do."""
        for handle in reversed(self.tensors):
            self.api.aclDestroyTensor(handle)
        for handle in reversed(self.arrays):
            self.api.aclDestroyIntArray(handle)
        for addr in reversed(self.buffers):
            self.api.aclrtFree(addr)
        self.tensors, self.arrays, self.buffers = [], [], []


# --- the rank program ----------------------------------------------------------------------------------

class AclnnRankProgram:
    def __init__(self, *, rank: int, world_size: int, device: int | None = None, lib_dir: str | None = None,
                 sync_timeout_ms: int = DEFAULT_SYNC_TIMEOUT_MS):
        self.rank, self.world_size = rank, world_size
        self.device = rank if device is None else device
        self.sync_timeout_ms = int(sync_timeout_ms)
        self.api = abi.Api(libs.load(lib_dir))
        self.stream = c_void_p()
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
        """Teardown in reverse; every step runs even if an earlier one fails."""
        if self.comm.value:
            self.api.HcclCommDestroy(self.comm)
            self.comm = c_void_p()
        if self.stream.value:
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
        op = abi.OPERATORS[call.op]
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
            res.release()

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
        """The documented NZ path (V3 document, CreateWeightNzAclTensor): the stored ND matrix in a buffer
        of aclnnCalculateMatmulWeightSizeV2 elements, an ND tensor with the view's strides, then
        aclnnTransMatmulWeight converts it to NZ in place on the stream."""
        rows, cols = _nz_stored_shape(t)
        nd = quant.nz_to_nd(np.asarray(t.data), rows, cols)
        enum = dtypes.info(t.dtype).acl_enum
        size = c_uint64()
        _check(self.api.aclnnCalculateMatmulWeightSizeV2(res.int_array((rows, cols)), enum, byref(size)),
               f"aclnnCalculateMatmulWeightSizeV2([{rows}, {cols}])")
        addr = res.upload(nd.reshape(-1), capacity=size.value * nd.itemsize)
        handle = res.tensor(t, "ND", (rows, cols), addr)
        workspace, executor = c_uint64(), c_void_p()
        _check(self.api.aclnnTransMatmulWeightGetWorkspaceSize(handle, byref(workspace), byref(executor)),
               "aclnnTransMatmulWeightGetWorkspaceSize")
        ws_addr = res.malloc(workspace.value) if workspace.value else None
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
        code = self.api.fn(op.execute_fn)(ws_addr, workspace, executor, self.stream)
        if code:
            return RankResult(code, {}, f"{op.execute_fn} returned {code}", PHASE_LAUNCH)
        code = self._sync(op.execute_fn)
        if code:
            return RankResult(code, {}, f"aclrtSynchronizeStreamWithTimeout({self.sync_timeout_ms} ms) after "
                                        f"{op.execute_fn} returned {code} (a timeout if the stream did not finish)",
                                PHASE_LAUNCH)
        outputs = {}
        for name in op.results:
            t = call.tensors.get(name)
            if t is not None:
                storage = res.download(addrs[name], t.span, dtypes.np_dtype(t.dtype))
                outputs[name] = view_of(storage, t)
        return RankResult(0, outputs, "")

    def _sync(self, after: str, raise_on_error: bool = False) -> int:
        code = self.api.aclrtSynchronizeStreamWithTimeout(self.stream, self.sync_timeout_ms)
        if raise_on_error:
            _check(code, f"aclrtSynchronizeStreamWithTimeout after {after}")
        return code


def _c_string(value) -> bytes | None:
    return None if value is None else str(value).encode()
