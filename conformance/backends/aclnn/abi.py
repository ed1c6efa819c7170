"""ctypes prototypes of every CANN function the backend calls, with the enums and constants they take.

Signatures are copied from the operator documents (docs/aclnn*.md: the GetWorkspaceSize / execute pairs and
their sample code) and device-facts 6 (aclCreateTensor, enums, HCCL root-info set-up). Handles (aclTensor*,
aclIntArray*, aclOpExecutor*, aclrtStream, HcclComm) are opaque `void*`; status returns are `int`.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_int32, c_int64, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Sequence

from ... import operators
from .libs import ACL, HCCL, HCOMM, NNOPBASE, OPAPI_MATH, OPAPI_NN, OPAPI_TRANSFORMER, Libraries

ACL_FORMAT = {"NCHW": 0, "ND": 2, "NC1HWC0": 3, "FRACTAL_NZ": 29}  # aclFormat enum values
ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2
ACL_ERROR_REPEAT_INITIALIZE = 100002  # aclInit a second time in one process: the runtime is already up
ACL_PKG_VERSION_MAX_SIZE = 128  # aclsysGetVersionStr's buffer (hicann/runtime docs/zh/api_ref/24_other_APIs.md:798)
HCCL_ROOT_INFO_BYTES = 4108
HCCL_COMM_NAME_BYTES = 128

# --- the benchmark chain's separate operators and the timing calls ---------------------------------------
# HcclDataType / HcclReduceOp: cannmirror/asc-devkit@0da921b9 include/adv_api/hccl/hccl_common.h (HcclReduceOp)
# and docs/zh/api/SIMD-API/高阶API/HCCL通信类/HCCL-Kernel侧接口/HCCL使用说明.md (HcclDataType: FP16 = 3,
# FP32 = 4, BFP16 = 11). The host API HcclAllReduce takes the same enums
# (asc-devkit@0da921b9 include/adv_api/hccl/internal/hccl.h:34).
HCCL_DATA_TYPE = {"int8": 0, "int16": 1, "int32": 2, "float16": 3, "float32": 4, "int64": 5, "uint64": 6,
                  "bfloat16": 11}
HCCL_REDUCE_OP = {"sum": 0, "prod": 1, "max": 2, "min": 3}
ACL_FLOAT = 0  # aclDataType of the aclnnAdd alpha scalar
CUBE_MATH_KEEP_DTYPE = 0  # aclnnMatmul cubeMathType (ops-nn aclnnMatmul.md: 0 keeps the input dtype)


# Functions the backend uses where the installed CANN has them (newer runtimes): resolved if exported, else None.
#   aclError aclrtStreamAbort(aclrtStream), aclError aclrtDestroyStreamForce(aclrtStream):
#     hicann/runtime@681ef761 docs/zh/api_ref/06_stream_management.md:671, :275 (the failure paths of program.py)
#   aclError aclsysGetVersionStr(char *pkgName, char *versionStr): docs/zh/api_ref/24_other_APIs.md:759 (doctor)
OPTIONAL: dict[str, tuple[str, type, tuple]] = {
    "aclrtStreamAbort": (ACL, c_int, (c_void_p,)),
    "aclrtDestroyStreamForce": (ACL, c_int, (c_void_p,)),
    "aclsysGetVersionStr": (ACL, c_int, (c_char_p, c_char_p)),
    # --busy-cores (conformance/backends/busy.py): a stream's AI-core limit and its use by the launching thread
    #   aclError aclrtSetStreamResLimit(aclrtStream, aclrtDevResLimitType, uint32_t value),
    #   aclError aclrtUseStreamResInCurrentThread(aclrtStream), aclError aclrtUnuseStreamResInCurrentThread(aclrtStream)
    #   hicann/runtime@681ef761 docs/zh/api_ref/03_runtime_configuration.md:354, :462, :513
    "aclrtSetStreamResLimit": (ACL, c_int, (c_void_p, c_int, c_uint32)),
    "aclrtUseStreamResInCurrentThread": (ACL, c_int, (c_void_p,)),
    "aclrtUnuseStreamResInCurrentThread": (ACL, c_int, (c_void_p,)),
}
BUSY_CORE_FUNCTIONS = ("aclrtSetStreamResLimit", "aclrtUseStreamResInCurrentThread",
                       "aclrtUnuseStreamResInCurrentThread")


class HcclRootInfo(ctypes.Structure):
    _fields_ = [("internal", ctypes.c_char * HCCL_ROOT_INFO_BYTES)]


# One aclnn operator's two C functions and the order of its arguments: the operator record's `abi`
# (conformance/operators/), the one place an operator's prototype is written.
OperatorAbi = operators.Abi


def operator_abi(op: str) -> OperatorAbi:
    """The C ABI of operator `op`, from its record; operators.UnknownOperator (one line) for an unknown name."""
    return operators.get(op).abi


SCALAR_CTYPES = {"epsilon": c_double, "group": c_char_p, "reduceOp": c_char_p, "commTurn": c_int64,
                 "streamMode": c_int64}

_I64P = POINTER(c_int64)
_U64P = POINTER(c_uint64)
_VPP = POINTER(c_void_p)
_EXECUTE = (c_void_p, c_uint64, c_void_p, c_void_p)  # (workspace, workspaceSize, executor, stream)

# name: (home library, restype, argtypes). The home is the split layout's library (libs.py says how the old layout
# and other libraries are searched after it), per the operator lists of each repository:
#   the MC2 operators: libopapi_transformer.so (mirror-cann/ops-transformer@3a280bcc docs/zh/op_api_list.md:209,
#     :265, :268); aclnnMatmul, aclnnAddRmsNorm, aclnnQuantMatmulV4: libopapi_nn.so (hicann/ops-nn@e5c3fa93
#     docs/zh/op_api_list.md:326, :58, :471); aclnnAdd, aclnnCalculateMatmulWeightSizeV2, aclnnTransMatmulWeight:
#     libopapi_math.so (hicann/ops-math@c4193324 docs/zh/op_api_list.md:37, :77, :315);
#   HcclGetRootInfo, HcclCommInitRootInfo, HcclGetCommName, HcclCommDestroy: libhcomm.so (hicann/hcomm@2b912e7d
#     include/hccl/hccl_comm.h:73, :85, :120, :164; hicann/hcomm@27e08930 docs/zh/api_ref/hcomm_header_and_lib.md:36);
#   HcclAllReduce: libhccl.so (hicann/hccl@09300b70 docs/zh/api_ref/hccl_header_and_lib.md:34, include/hccl.h:35).
PROTOTYPES: dict[str, tuple[str, type, tuple]] = {
    "aclInit": (ACL, c_int, (c_char_p,)),
    "aclFinalize": (ACL, c_int, ()),
    "aclrtSetDevice": (ACL, c_int, (c_int32,)),
    "aclrtResetDevice": (ACL, c_int, (c_int32,)),
    "aclrtCreateStream": (ACL, c_int, (_VPP,)),
    "aclrtDestroyStream": (ACL, c_int, (c_void_p,)),
    # aclError aclrtGetDeviceCount(uint32_t *count): hicann/runtime@681ef761 docs/zh/api_ref/04_device_management.md:454
    "aclrtGetDeviceCount": (ACL, c_int, (POINTER(c_uint32),)),
    "aclrtSynchronizeStreamWithTimeout": (ACL, c_int, (c_void_p, c_int32)),
    "aclrtMalloc": (ACL, c_int, (_VPP, c_size_t, c_int)),
    "aclrtFree": (ACL, c_int, (c_void_p,)),
    "aclrtMemcpy": (ACL, c_int, (c_void_p, c_size_t, c_void_p, c_size_t, c_int)),
    # viewDims, viewDimsNum, dataType, stride, offset, format, storageDims, storageDimsNum, tensorData
    "aclCreateTensor": (NNOPBASE, c_void_p, (_I64P, c_uint64, c_int, _I64P, c_int64, c_int, _I64P, c_uint64,
                                             c_void_p)),
    "aclDestroyTensor": (NNOPBASE, c_int, (c_void_p,)),
    "aclCreateIntArray": (NNOPBASE, c_void_p, (_I64P, c_uint64)),
    "aclDestroyIntArray": (NNOPBASE, c_int, (c_void_p,)),
    "aclnnCalculateMatmulWeightSizeV2": (OPAPI_MATH, c_int, (c_void_p, c_int, _U64P)),
    "aclnnTransMatmulWeightGetWorkspaceSize": (OPAPI_MATH, c_int, (c_void_p, _U64P, _VPP)),
    "aclnnTransMatmulWeight": (OPAPI_MATH, c_int, _EXECUTE),
    "HcclGetRootInfo": (HCOMM, c_int, (POINTER(HcclRootInfo),)),
    "HcclCommInitRootInfo": (HCOMM, c_int, (c_uint32, POINTER(HcclRootInfo), c_uint32, _VPP)),
    "HcclGetCommName": (HCOMM, c_int, (c_void_p, c_char_p)),
    "HcclCommDestroy": (HCOMM, c_int, (c_void_p,)),
    # --- the benchmark chain (conformance/protocol.py invoke_chain) ---
    # aclScalar *aclCreateScalar(void *value, aclDataType dataType); aclnnStatus aclDestroyScalar(const aclScalar*)
    #   hicann/opbase@aa3cd74b docs/en/api/nnopbase/aclnn/aclCreateScalar.md:12, aclDestroyScalar.md:10
    "aclCreateScalar": (NNOPBASE, c_void_p, (c_void_p, c_int)),
    "aclDestroyScalar": (NNOPBASE, c_int, (c_void_p,)),
    # aclnnMatmulGetWorkspaceSize(self, mat2, out, int8_t cubeMathType, uint64_t*, aclOpExecutor**)
    #   hicann/ops-nn@e5c3fa93 matmul/mat_mul_v3/docs/aclnnMatmul.md:39-53
    "aclnnMatmulGetWorkspaceSize": (OPAPI_NN, c_int, (c_void_p, c_void_p, c_void_p, ctypes.c_int8, _U64P, _VPP)),
    "aclnnMatmul": (OPAPI_NN, c_int, _EXECUTE),
    # aclnnAddGetWorkspaceSize(self, other, const aclScalar *alpha, out, uint64_t*, aclOpExecutor**)
    #   hicann/ops-math@c4193324 math/add/docs/aclnnAdd&aclnnInplaceAdd.md:45-51
    "aclnnAddGetWorkspaceSize": (OPAPI_MATH, c_int, (c_void_p, c_void_p, c_void_p, c_void_p, _U64P, _VPP)),
    "aclnnAdd": (OPAPI_MATH, c_int, _EXECUTE),
    # aclnnAddRmsNormGetWorkspaceSize(x1, x2, gamma, double epsilon, yOut, rstdOut, xOut, uint64_t*, exec**)
    #   hicann/ops-nn@e5c3fa93 norm/add_rms_norm/docs/aclnnAddRmsNorm.md:44-61 (xOut = x1 + x2, yOut the norm)
    "aclnnAddRmsNormGetWorkspaceSize": (OPAPI_NN, c_int, (c_void_p, c_void_p, c_void_p, c_double, c_void_p, c_void_p,
                                                       c_void_p, _U64P, _VPP)),
    "aclnnAddRmsNorm": (OPAPI_NN, c_int, _EXECUTE),
    # aclnnQuantMatmulV4GetWorkspaceSize(x1, x2, scale, offset, pertokenScaleOptional, bias, bool transposeX1,
    #   bool transposeX2, out, uint64_t*, aclOpExecutor**)
    #   hicann/ops-nn@e5c3fa93 matmul/quant_batch_matmul_v3/docs/aclnnQuantMatmulV4.md:103-122
    "aclnnQuantMatmulV4GetWorkspaceSize": (OPAPI_NN, c_int, (c_void_p,) * 6 + (ctypes.c_bool, ctypes.c_bool, c_void_p,
                                                                             _U64P, _VPP)),
    "aclnnQuantMatmulV4": (OPAPI_NN, c_int, _EXECUTE),
    # HcclResult HcclAllReduce(void *sendBuf, void *recvBuf, uint64_t count, HcclDataType, HcclReduceOp, HcclComm,
    #   aclrtStream)   cannmirror/asc-devkit@0da921b9 include/adv_api/hccl/internal/hccl.h:34
    "HcclAllReduce": (HCCL, c_int, (c_void_p, c_void_p, c_uint64, c_int, c_int, c_void_p, c_void_p)),
    # --- device timing. UNCONFIRMED: no stored document has these prototypes (the AscendCL runtime API as
    # published: aclrtCreateEvent(aclrtEvent*), aclrtRecordEvent(event, stream), aclrtSynchronizeEvent(event),
    # aclrtEventElapsedTime(float *ms, start, end), aclrtDestroyEvent(event)); hicann/asc-devkit's
    # tests/tools/utils/stub/acl_rt_stub.cpp:67,96 confirms RecordEvent(event, stream) and DestroyEvent(event).
    "aclrtCreateEvent": (ACL, c_int, (_VPP,)),
    "aclrtRecordEvent": (ACL, c_int, (c_void_p, c_void_p)),
    "aclrtSynchronizeEvent": (ACL, c_int, (c_void_p,)),
    "aclrtEventElapsedTime": (ACL, c_int, (POINTER(ctypes.c_float), c_void_p, c_void_p)),
    "aclrtDestroyEvent": (ACL, c_int, (c_void_p,)),
}
for _abi in (_op.abi for _op in operators.all_operators()):
    PROTOTYPES[_abi.workspace_fn] = (OPAPI_TRANSFORMER, c_int, (c_void_p,) * len(_abi.inputs)
                                     + tuple(SCALAR_CTYPES[s] for s in _abi.scalars)
                                     + (c_void_p,) * len(_abi.outputs) + (_U64P, _VPP))
    PROTOTYPES[_abi.execute_fn] = (OPAPI_TRANSFORMER, c_int, _EXECUTE)


class Api:
    """The prototyped functions as attributes: `api.aclrtMalloc(...)`; an OPTIONAL one the libraries lack is None."""

    def __init__(self, libs: Libraries):
        self.libs = libs
        for name, (home, restype, argtypes) in PROTOTYPES.items():
            func = libs.resolve(name, home)
            func.restype, func.argtypes = restype, argtypes
            setattr(self, name, func)
        for name, (home, restype, argtypes) in OPTIONAL.items():
            func = libs.find_symbol(name, home)
            if func is not None:
                func.restype, func.argtypes = restype, argtypes
            setattr(self, name, func)

    def fn(self, name: str):
        return getattr(self, name)


def int64_array(values: Sequence[int]):
    values = [int(v) for v in values]
    return (c_int64 * len(values))(*values)
