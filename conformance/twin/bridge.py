"""The twin's Python side of its C library: every aclnn call the C side records arrives here.

cann_twin.c records an operator's arguments in an executor and calls one callback (registered by `install`):
phase 0 for GetWorkspaceSize, phase 1 for the execute. This module reads the executor with ctypes (the structs
below mirror cann_twin.c's `TwinArg` / `aclOpExecutor` / `aclTensor` field for field), converts the arguments to
values.* and hands them to the operators module (the MC2 operators and the benchmark chain, in the device model:
conformance.twin.operators, or the module $MC2_TWIN_OPERATORS names, a named option for tests that fake the
operators in a subprocess) where it handles the function, else to basic_ops (tensor creation, copies, casts,
arithmetic). It knows nothing of pytest.

A process that never imported this module (plain `import torch_npu`) gets it imported by the C library at the
first operator (cann_twin.c bootstrap_python), which calls `install(path of libcann_twin.so)`.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import threading
from ctypes import POINTER, c_char, c_char_p, c_double, c_int32, c_int64, c_ubyte, c_uint64, c_void_p

import numpy as np

from . import basic_ops
from .values import Answer, DeviceTensor, RankContext, Scalar

OPERATORS_ENV = "MC2_TWIN_OPERATORS"  # the operators module (default conformance.twin.operators)
REVISION_ENV = "MC2_TWIN_REVISION"
ACLNN_ERR_INNER = 561000  # aclnn's internal-error status (the twin's answer when its Python side fails)
MAX_DIMS, MAX_ARGS = 16, 40  # TWIN_MAX_DIMS, TWIN_MAX_ARGS of cann_twin.c

# aclDataType / aclFormat values: torch_npu/include/third_party/acl/inc/acl/acl_base_rt.h:140-169 and :171-193 (the
# headers of the torch_npu 2.13.0 wheel); numpy dtypes by name (bfloat16 from ml_dtypes).
ACL_DTYPES = {0: "float32", 1: "float16", 2: "int8", 3: "int32", 4: "uint8", 6: "int16", 7: "uint16", 8: "uint32",
              9: "int64", 10: "uint64", 11: "float64", 12: "bool", 16: "complex64", 17: "complex128", 27: "bfloat16"}
ACL_DTYPE_CODES = {name: code for code, name in ACL_DTYPES.items()}
ACL_FORMATS = {0: "NCHW", 1: "NHWC", 2: "ND", 3: "NC1HWC0", 4: "FRACTAL_Z", 12: "NC1HWC0_C04", 16: "HWCN",
               27: "NDHWC", 29: "FRACTAL_NZ", 30: "NCDHW", 32: "NDC1HWC0", 33: "FRACTAL_Z_3D", 35: "NC", 47: "NCL"}

ARG_NONE, ARG_TENSOR, ARG_SCALAR, ARG_INT_ARRAY, ARG_DOUBLE, ARG_INT, ARG_BOOL, ARG_STRING, ARG_TENSOR_LIST, \
    ARG_FLOAT_ARRAY, ARG_BOOL_ARRAY, ARG_SCALAR_LIST = range(12)


class _Arg(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("kind", c_int32), ("pad", c_int32), ("ptr", c_void_p), ("f", c_double),
                ("i", c_int64)]


class _Executor(ctypes.Structure):
    _fields_ = [("fn", c_char * 128), ("nargs", c_int32), ("device", c_int32), ("args", _Arg * MAX_ARGS),
                ("repeatable", c_int32), ("pad", c_int32)]


class _Tensor(ctypes.Structure):
    _fields_ = [("view", c_int64 * MAX_DIMS), ("strides", c_int64 * MAX_DIMS), ("storage", c_int64 * MAX_DIMS),
                ("ndim", c_uint64), ("storage_ndim", c_uint64), ("offset", c_int64), ("dtype", c_int32),
                ("format", c_int32), ("data", c_void_p)]


class _Scalar(ctypes.Structure):
    _fields_ = [("dtype", c_int32), ("pad", c_int32), ("value", c_ubyte * 16)]


class _Array(ctypes.Structure):  # aclIntArray / aclFloatArray / aclBoolArray / aclTensorList / aclScalarList
    _fields_ = [("size", c_uint64), ("values", c_void_p)]


CALLBACK = ctypes.CFUNCTYPE(c_int32, c_int32, POINTER(_Executor), POINTER(c_uint64), c_void_p, POINTER(c_int32),
                            POINTER(c_char), c_uint64)


def numpy_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _device_array(address: int | None, count: int, dtype: np.dtype) -> np.ndarray:
    if not address or count <= 0:
        return np.zeros(0, dtype)
    raw = (c_char * (count * dtype.itemsize)).from_address(address)
    return np.frombuffer(raw, dtype=dtype)


def tensor(address: int) -> DeviceTensor:
    """The DeviceTensor of an aclTensor* (its storage: a writable numpy view of device memory)."""
    t = _Tensor.from_address(address)
    shape = tuple(t.view[: t.ndim])
    strides = tuple(t.strides[: t.ndim])
    storage_shape = tuple(t.storage[: t.storage_ndim])
    dtype = ACL_DTYPES.get(t.dtype, f"acl{t.dtype}")
    np_dtype = numpy_dtype(dtype) if t.dtype in ACL_DTYPES else np.dtype(np.uint8)
    needed = 0 if 0 in shape else t.offset + 1 + sum((d - 1) * abs(s) for d, s in zip(shape, strides))
    count = max(int(np.prod(storage_shape, dtype=np.int64)) if storage_shape else 0, needed)
    return DeviceTensor(dtype, shape, strides, t.offset, ACL_FORMATS.get(t.format, f"format{t.format}"),
                        storage_shape, _device_array(t.data, count, np_dtype))


def scalar(address: int) -> Scalar:
    s = _Scalar.from_address(address)
    dtype = ACL_DTYPES.get(s.dtype, "float32")
    value = np.frombuffer(bytes(s.value), dtype=numpy_dtype(dtype), count=1)[0]
    return Scalar(bool(value) if dtype == "bool" else (int(value) if np.issubdtype(value.dtype, np.integer)
                                                       else float(value)), dtype)


def _array(address: int, ctype, convert=lambda v: v) -> tuple:
    a = _Array.from_address(address)
    if not a.size or not a.values:
        return ()
    values = (ctype * a.size).from_address(a.values)
    return tuple(convert(v) for v in values)


def arguments(executor: _Executor) -> tuple[str, dict]:
    """(operator name, {parameter name: value}) of a recorded call."""
    args = {}
    for arg in executor.args[: executor.nargs]:
        name, kind, ptr = arg.name.decode(), arg.kind, arg.ptr
        if kind == ARG_NONE:
            value = None
        elif kind == ARG_TENSOR:
            value = tensor(ptr)
        elif kind == ARG_SCALAR:
            value = scalar(ptr)
        elif kind == ARG_INT_ARRAY:
            value = _array(ptr, c_int64, int)
        elif kind == ARG_FLOAT_ARRAY:
            value = _array(ptr, ctypes.c_float, float)
        elif kind == ARG_BOOL_ARRAY:
            value = _array(ptr, ctypes.c_bool, bool)
        elif kind == ARG_TENSOR_LIST:
            value = _array(ptr, c_void_p, tensor)
        elif kind == ARG_SCALAR_LIST:
            value = _array(ptr, c_void_p, scalar)
        elif kind == ARG_DOUBLE:
            value = arg.f
        elif kind == ARG_INT:
            value = int(arg.i)
        elif kind == ARG_BOOL:
            value = bool(arg.i)
        elif kind == ARG_STRING:
            value = ctypes.string_at(ptr).decode()
        else:
            raise ValueError(f"argument {name}: unknown kind {kind}")
        args[name] = value
    return executor.fn.decode(), args


class TwinComm:
    """values.Comm over one of the twin's HCCL communicators (the C side's shared-memory allgather)."""

    def __init__(self, lib: ctypes.CDLL, handle: int, name: str):
        self._lib, self._handle, self.name = lib, handle, name
        self.rank = lib.twin_comm_rank(handle)
        self.size = lib.twin_comm_size(handle)

    def allgather(self, payload: bytes) -> list[bytes]:
        sizes = (c_uint64 * self.size)()
        out, stride = c_void_p(), c_uint64()
        status = self._lib.twin_comm_allgather(self._handle, payload, len(payload), sizes, ctypes.byref(out),
                                               ctypes.byref(stride))
        if status:
            raise RuntimeError(f"HCCL (twin) allgather on {self.name} failed with status {status}")
        try:
            return [ctypes.string_at(out.value + r * stride.value, sizes[r]) for r in range(self.size)]
        finally:
            self._lib.twin_free(out)


class Bridge:
    """The registered callback and what it needs: the library, the operators module, the pending argument dicts."""

    def __init__(self, lib_path: str):
        self.lib = ctypes.CDLL(lib_path)
        self.lib.twin_comm_find.restype = c_void_p
        self.lib.twin_comm_find.argtypes = [c_char_p, c_int32]
        self.lib.twin_comm_rank.argtypes = [c_void_p]
        self.lib.twin_comm_size.argtypes = [c_void_p]
        self.lib.twin_comm_allgather.argtypes = [c_void_p, c_char_p, c_uint64, POINTER(c_uint64), POINTER(c_void_p),
                                                 POINTER(c_uint64)]
        self.lib.twin_free.argtypes = [c_void_p]
        self.revision = os.environ.get(REVISION_ENV) or _default_revision()
        self.pending: dict[int, dict] = {}  # executor address -> the args dict workspace() saw
        self.lock = threading.Lock()
        self.callback = CALLBACK(self._call)

    def operators(self):
        return importlib.import_module(os.environ.get(OPERATORS_ENV) or "conformance.twin.operators")

    def comm(self, name: str, device: int = -1) -> TwinComm:
        """The communicator `name` of this process (of `device`, where ranks are threads of one process)."""
        handle = self.lib.twin_comm_find(name.encode(), device)
        if not handle:
            raise KeyError(f"no HCCL communicator named {name!r} in this process")
        return TwinComm(self.lib, handle, name)

    def context(self, device: int) -> RankContext:
        return RankContext(device=device, comm=lambda name: self.comm(name, device), revision=self.revision)

    def _call(self, phase, executor_p, workspace_p, stream, kernel_status_p, message_p, message_size):
        address = ctypes.addressof(executor_p.contents)
        fn = "?"
        try:
            executor = executor_p.contents
            if phase == 0:
                fn, args = arguments(executor)
                with self.lock:
                    self.pending[address] = args
            else:
                fn = executor.fn.decode()
                with self.lock:
                    args = self.pending.get(address) if executor.repeatable else self.pending.pop(address, None)
                if args is None:
                    fn, args = arguments(executor)
            answer = self.dispatch(phase, fn, args, self.context(executor.device))
        except Exception as exc:  # the C caller gets a status, never a Python exception
            answer = Answer(status=ACLNN_ERR_INNER, message=f"CANN twin: {fn}: {type(exc).__name__}: {exc}")
        if phase == 0:
            workspace_p[0] = answer.workspace
            if answer.status:
                with self.lock:
                    self.pending.pop(address, None)
        kernel_status_p[0] = answer.kernel_status
        if answer.message:
            encoded = answer.message.encode()[: max(0, message_size - 1)]
            ctypes.memmove(message_p, encoded + b"\0", len(encoded) + 1)
        return answer.status

    def dispatch(self, phase: int, fn: str, args: dict, ctx: RankContext) -> Answer:
        """The operators module (the device model) where it handles fn, else basic_ops, else "not modelled"."""
        try:
            module = self.operators()
        except ImportError:  # basic tensor work goes on; an operator that needs the module reports the failure
            if not basic_ops.handles(fn):
                raise
            module = basic_ops
        if not module.handles(fn):
            module = basic_ops
            if not module.handles(fn):
                return Answer(status=ACLNN_ERR_INNER, message=f"the CANN twin does not model {fn}")
        return module.workspace(fn, args, ctx) if phase == 0 else module.launch(fn, args, ctx)


def _default_revision() -> str:
    from ..sim.cann import revisions
    return revisions.DEFAULT


_installed: dict[str, Bridge] = {}  # library path -> its bridge (a process may load two builds of the twin)
_install_lock = threading.Lock()


def install(lib_path: str | None = None) -> Bridge:
    """Register this module's callback with the twin library at lib_path (default $MC2_TWIN_LIB); idempotent."""
    path = lib_path or os.environ.get("MC2_TWIN_LIB")
    if not path:
        raise RuntimeError("conformance.twin.bridge.install: no library path and MC2_TWIN_LIB is not set")
    path = os.path.realpath(path)
    with _install_lock:
        if path not in _installed:
            bridge = Bridge(path)
            bridge.lib.twin_register_callback(bridge.callback)
            _installed[path] = bridge
        return _installed[path]
