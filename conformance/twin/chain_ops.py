"""The benchmark chain's separate operators on the CPU twin, as torch_npu and the suite's aclnn backend call them.

Semantics are conformance/sim/chain.py's steps (every operator stores its output in its output dtype):
- aclnnMatmul / aclnnMm / aclnnMatmulWeightNz: out = round(self @ mat2), fp32 accumulation (BLAS);
- aclnnAdd / aclnnAdds: out = round(fp32(self) + alpha * fp32(other));
- aclnnAddRmsNorm: xOut = round(x1 + x2), rstdOut = 1 / sqrt(mean(xOut^2) + epsilon) in fp32 over gamma's dims,
  yOut = round(round(xOut * rstd) * gamma) (sim/chain.add_rms_norm);
- aclnnQuantMatmulV4 / V5 / WeightNz: int32 product (+ int32 bias), fp32 dequant by the scale (and the pertoken
  scale), stored in out's dtype (sim/v3_numerics.local_stored, the V3 chain's local step);
- aclnnTransQuantParamV2 / V3: the 64-bit scale words (quant.trans_quant_param), which npu_quant_matmul makes
  of a float32 scale before the matmul;
- aclnnTransMatmulWeight: the ND weight rewritten in place as its FRACTAL_NZ tiling (quant.nd_to_nz).
Validation is simple, as the brief of the twin asks: a NULL required tensor is ACLNN_ERR_PARAM_NULLPTR, a dtype,
shape or setting the twin does not take is ACLNN_ERR_PARAM_INVALID, each with one line naming the argument.
Modelling choices where the documents leave the twin free: every cubeMathType computes as above (the chain's
definition, not the cube unit's), and the twin's chain kernels need no workspace (GetWorkspaceSize reports 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import dtypes, quant
from ..hooks import NO_HOOKS
from ..protocol import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, TensorArg
from ..sim import v3_numerics
from ..sim.chain import add_rms_norm
from .values import Answer, DeviceTensor, Scalar

# The runtime's code for a kernel that failed on an AI core, reported by the next synchronise (here and for the
# MC2 operators, operators.py): ACL_ERROR_RT_AICORE_EXCEPTION (hicann/runtime@681ef761
# docs/zh/api_ref/25-01_aclError.md:186; the same value in the headers torch_npu 2.13.0 ships:
# torch_npu/include/third_party/acl/inc/acl/error_codes/rt_error_codes.h:106).
ACL_ERROR_RT_AICORE_EXCEPTION = 507015

# Each GetWorkspaceSize's parameters in C order (followed by `uint64_t *workspaceSize, aclOpExecutor **executor`;
# the execute function is always (void *workspace, uint64_t workspaceSize, aclOpExecutor*, aclrtStream)), with
# the document it is read from. The `args` the bridge passes use these names. Data, for twin-core to generate or
# check its C wrappers from.
_T, _OUT, _S = "const aclTensor*", "aclTensor*", "const aclScalar*"
_QMM_V5 = (("x1", _T), ("x2", _T), ("x1Scale", _T), ("x2Scale", _T), ("yScale", _T), ("x1Offset", _T),
           ("x2Offset", _T), ("yOffset", _T), ("bias", _T), ("transposeX1", "bool"), ("transposeX2", "bool"),
           ("groupSize", "int64_t"), ("out", _OUT))
_NN = "hicann/ops-nn@e5c3fa93 "
_MM = (("self", _T), ("mat2", _T), ("out", _OUT), ("cubeMathType", "int8_t"))
CHAIN_PROTOTYPES: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "aclnnMatmul": (_MM, "hicann/ops-nn@e5c3fa93 matmul/mat_mul_v3/docs/aclnnMatmul.md:39-45"),
    "aclnnMm": (_MM, "hicann/ops-nn@e5c3fa93 matmul/mat_mul_v3/docs/aclnnMm.md:38-44"),
    "aclnnMatmulWeightNz": (_MM, "hicann/ops-nn@e5c3fa93 matmul/mat_mul_v3/docs/aclnnMatmulWeightNz.md:39-45"),
    "aclnnAdd": ((("self", _T), ("other", _T), ("alpha", _S), ("out", _OUT)),
                 "hicann/ops-math@c4193324 math/add/docs/aclnnAdd&aclnnInplaceAdd.md:45-51"),
    "aclnnAdds": ((("self", _T), ("other", _S), ("alpha", _S), ("out", _OUT)),
                  "hicann/ops-math@c4193324 math/add/docs/aclnnAdds.md:40-46"),
    "aclnnAddRmsNorm": ((("x1", _T), ("x2", _T), ("gamma", _T), ("epsilon", "double"), ("yOut", _OUT),
                         ("rstdOut", _OUT), ("xOut", _OUT)),
                        "hicann/ops-nn@e5c3fa93 norm/add_rms_norm/docs/aclnnAddRmsNorm.md:44-53"),
    "aclnnQuantMatmulV4": ((("x1", _T), ("x2", _T), ("scale", _T), ("offset", _T), ("pertokenScaleOptional", _T),
                            ("bias", _T), ("transposeX1", "bool"), ("transposeX2", "bool"), ("out", _T)),
                           "hicann/ops-nn@e5c3fa93 matmul/quant_batch_matmul_v3/docs/aclnnQuantMatmulV4.md:103-114"),
    "aclnnQuantMatmulV5": (_QMM_V5,
                           "hicann/ops-nn@e5c3fa93 matmul/quant_batch_matmul_v4/docs/aclnnQuantMatmulV5.md:253-266"),
    "aclnnQuantMatmulWeightNz": (_QMM_V5, "hicann/ops-nn@e5c3fa93 "
                                          "matmul/quant_batch_matmul_v3/docs/aclnnQuantMatmulWeightNz.md:117-130"),
    "aclnnTransQuantParamV2": ((("scale", _T), ("offset", _T), ("out", _T)),
                               _NN + "quant/trans_quant_param_v2/docs/aclnnTransQuantParamV2.md:58-63"),
    "aclnnTransQuantParamV3": ((("scale", _T), ("offset", _T), ("roundMode", "int64_t"), ("out", _T)),
                               _NN + "quant/trans_quant_param_v2/docs/aclnnTransQuantParamV3.md:65-71"),
    "aclnnTransMatmulWeight": ((("mmWeightRef", _OUT),),
                               "hicann/ops-math@c4193324 conversion/trans_data/docs/aclnnTransMatmulWeight.md:35-38"),
}

FLOATS = ("float16", "bfloat16", "float32")


class Rejected(Exception):
    """A GetWorkspaceSize rejection: the aclnn status and one line naming the argument."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _required(fn: str, args: dict, *names: str) -> None:
    for name in names:
        if args.get(name) is None:
            raise Rejected(ACLNN_ERR_PARAM_NULLPTR, f"{fn}: {name} is a null pointer")


def _invalid(fn: str, message: str) -> Rejected:
    return Rejected(ACLNN_ERR_PARAM_INVALID, f"{fn}: {message}")


def _dtype_in(fn: str, name: str, t: DeviceTensor | None, allowed: tuple[str, ...]) -> None:
    if t is not None and t.dtype not in allowed:
        raise _invalid(fn, f"{name} dtype {t.dtype} is not one of {', '.join(allowed)}")


def _shape_is(fn: str, name: str, t: DeviceTensor | None, want: tuple[int, ...]) -> None:
    if t is not None and tuple(t.shape) != tuple(want):
        raise _invalid(fn, f"{name} shape {tuple(t.shape)}, expected {tuple(want)}")


def _scalar(fn: str, name: str, s) -> float:
    if isinstance(s, Scalar):
        return float(s.value)
    if isinstance(s, (int, float)):
        return float(s)
    raise _invalid(fn, f"{name} is not a scalar")


def _present(t: DeviceTensor | None) -> bool:
    """An optional tensor that is given: torch_npu passes an absent offset as a 0-element tensor, not NULL
    (research notes A2: op-plugin@517f2e7d QuantMatmulKernelNpuOpApi.cpp:252-259)."""
    return t is not None and int(np.prod(t.shape, dtype=np.int64)) > 0


def _values(t: DeviceTensor) -> np.ndarray:
    """A tensor's logical values: a 2-D FRACTAL_NZ tensor with a 4-D storage decoded from its tiling, any other
    its view (a tensor tagged NZ over a storage of its own shape holds its values as they are, as chain.py reads
    every argument)."""
    if t.format == "FRACTAL_NZ" and len(t.shape) == 2 and len(t.storage_shape) == 4:
        count = int(np.prod(t.storage_shape, dtype=np.int64))
        tiles = t.storage[t.offset:t.offset + count].reshape(t.storage_shape)
        return quant.nz_to_nd(tiles, t.shape[0], t.shape[1])
    return np.array(t.view())


# --- matmul -------------------------------------------------------------------------------------------------

def _matmul_shape(fn: str, args: dict) -> tuple[int, ...]:
    _required(fn, args, "self", "mat2", "out")
    a, b, out = args["self"], args["mat2"], args["out"]
    for name in ("self", "mat2", "out"):
        _dtype_in(fn, name, args[name], FLOATS)
    if len(a.shape) < 1 or len(b.shape) != 2 or (fn == "aclnnMm" and len(a.shape) != 2):
        raise _invalid(fn, f"self {tuple(a.shape)} and mat2 {tuple(b.shape)}: expected (.., m, k) and (k, n)")
    if a.shape[-1] != b.shape[0]:
        raise _invalid(fn, f"self's k = {a.shape[-1]} but mat2's = {b.shape[0]}")
    want = tuple(a.shape[:-1]) + (b.shape[1],)
    _shape_is(fn, "out", out, want)
    return want


def _matmul(fn: str, args: dict) -> dict[str, np.ndarray]:
    a, b, out = _values(args["self"]), _values(args["mat2"]), args["out"]
    k = a.shape[-1]
    product = a.reshape(-1, k).astype(np.float32) @ b.astype(np.float32)  # the chain's 2-D product
    return {"out": dtypes.round_to(product, out.dtype).reshape(out.shape)}


# --- add ----------------------------------------------------------------------------------------------------

def _add_check(fn: str, args: dict) -> None:
    tensor_other = fn == "aclnnAdd"
    _required(fn, args, "self", "other", "alpha", "out")
    _scalar(fn, "alpha", args["alpha"])
    if not tensor_other:
        _scalar(fn, "other", args["other"])
    for name in ("self", "other", "out"):
        if isinstance(args.get(name), DeviceTensor):
            _dtype_in(fn, name, args[name], FLOATS + ("int32", "int64", "int8"))
    other_shape = args["other"].shape if tensor_other else ()
    try:
        want = np.broadcast_shapes(tuple(args["self"].shape), tuple(other_shape))
    except ValueError:
        raise _invalid(fn, f"self {tuple(args['self'].shape)} and other {tuple(other_shape)} do not broadcast") \
            from None
    _shape_is(fn, "out", args["out"], want)


def _add(fn: str, args: dict) -> dict[str, np.ndarray]:
    out = args["out"]
    alpha = _scalar(fn, "alpha", args["alpha"])
    other = args["other"]
    b = _values(other) if isinstance(other, DeviceTensor) else np.float32(_scalar(fn, "other", other))
    if dtypes.np_dtype(out.dtype).kind in "iu":
        total = _values(args["self"]).astype(np.int64) + np.int64(alpha) * np.asarray(b).astype(np.int64)
        return {"out": total.astype(dtypes.np_dtype(out.dtype))}
    b32 = np.asarray(b).astype(np.float32)
    if alpha != 1.0:  # alpha 1 (the chain's) adds the stored values exactly as chain.py does
        b32 = b32 * np.float32(alpha)
    total = _values(args["self"]).astype(np.float32) + b32
    return {"out": dtypes.round_to(np.broadcast_to(total, out.shape), out.dtype)}


# --- AddRmsNorm ---------------------------------------------------------------------------------------------

def _add_rms_norm_check(fn: str, args: dict) -> None:
    _required(fn, args, "x1", "x2", "gamma", "yOut")
    x1, gamma = args["x1"], args["gamma"]
    for name in ("x1", "x2", "gamma", "yOut", "xOut"):
        _dtype_in(fn, name, args.get(name), FLOATS)
        if name != "gamma" and args.get(name) is not None and args[name].dtype != x1.dtype:
            raise _invalid(fn, f"{name} dtype {args[name].dtype} differs from x1's {x1.dtype}")
    _dtype_in(fn, "rstdOut", args.get("rstdOut"), ("float32",))
    g = len(gamma.shape)
    if g < 1 or g > len(x1.shape) or tuple(x1.shape[-g:]) != tuple(gamma.shape):
        raise _invalid(fn, f"gamma shape {tuple(gamma.shape)} is not x1's last dims {tuple(x1.shape)}")
    for name in ("x2", "yOut", "xOut"):
        _shape_is(fn, name, args.get(name), tuple(x1.shape))
    _shape_is(fn, "rstdOut", args.get("rstdOut"), tuple(x1.shape[:-g]) + (1,) * g)


def _add_rms_norm(fn: str, args: dict) -> dict[str, np.ndarray]:
    x1, gamma = args["x1"], args["gamma"]
    n = int(np.prod(gamma.shape, dtype=np.int64))
    shape = tuple(x1.shape)
    m = int(np.prod(shape[:len(shape) - len(gamma.shape)], dtype=np.int64))
    a, b = _values(x1).reshape(m, n), _values(args["x2"]).reshape(m, n)
    eps = float(args.get("epsilon") or 0.0)
    if m * n == 0:  # nothing to compute (and no mean of an empty axis)
        return {"yOut": np.zeros(shape, dtypes.np_dtype(x1.dtype)), "xOut": np.zeros(shape, dtypes.np_dtype(x1.dtype))}
    y, norm_out = add_rms_norm(a, b, _values(gamma).reshape(-1), eps, x1.dtype)
    outs = {"yOut": norm_out.reshape(shape), "xOut": y.reshape(shape)}
    if args.get("rstdOut") is not None:  # the chain's rstd, from the stored sum in fp32
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            ms = np.mean(np.square(y.astype(np.float32)), axis=1, keepdims=True, dtype=np.float32)
            outs["rstdOut"] = (np.float32(1.0) / np.sqrt(ms + np.float32(eps))).astype(np.float32)
    return outs


# --- quantised matmul ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _QuantNames:
    scale: str
    pertoken: str
    unmodelled: tuple[str, ...]  # tensors the twin does not model: must be NULL


_QUANT_NAMES = {
    "aclnnQuantMatmulV4": _QuantNames("scale", "pertokenScaleOptional", ("offset",)),
    "aclnnQuantMatmulV5": _QuantNames("x2Scale", "x1Scale", ("yScale", "x1Offset", "x2Offset", "yOffset")),
    "aclnnQuantMatmulWeightNz": _QuantNames("x2Scale", "x1Scale", ("yScale", "x1Offset", "x2Offset", "yOffset")),
}


def _quant_dims(fn: str, args: dict) -> tuple[int, int, int]:
    """(m, k, n) of a quantised matmul; x1 is (.., m, k) or with transposeX1 (k, m), x2 (k, n) or with
    transposeX2 (n, k) (aclnnQuantMatmulV4.md x1 / x2 rows)."""
    names = _QUANT_NAMES[fn]
    _required(fn, args, "x1", "x2", names.scale, "out")
    for name in names.unmodelled:
        if _present(args.get(name)):
            raise _invalid(fn, f"{name} is given: the twin models the int8 per-channel/per-token scales only")
    if int(args.get("groupSize") or 0):
        raise _invalid(fn, f"groupSize {args['groupSize']}: the twin models no group quantisation")
    x1, x2, out = args["x1"], args["x2"], args["out"]
    _dtype_in(fn, "x1", x1, ("int8",))
    _dtype_in(fn, "x2", x2, ("int8",))
    _dtype_in(fn, "out", out, ("float16", "bfloat16"))
    _dtype_in(fn, names.scale, args[names.scale], ("int64", "uint64", "float32", "bfloat16"))
    _dtype_in(fn, names.pertoken, args.get(names.pertoken), ("float32",))
    _dtype_in(fn, "bias", args.get("bias"), ("int32",))
    if len(x1.shape) < 2 or len(x2.shape) != 2:
        raise _invalid(fn, f"x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)}: expected (.., m, k) and a 2-D x2")
    if args.get("transposeX1") and len(x1.shape) != 2:
        raise _invalid(fn, "transposeX1 with a batched x1 is not modelled")
    m, k = (x1.shape[1], x1.shape[0]) if args.get("transposeX1") else \
        (int(np.prod(x1.shape[:-1], dtype=np.int64)), x1.shape[-1])
    k2, n = (x2.shape[1], x2.shape[0]) if args.get("transposeX2") else (x2.shape[0], x2.shape[1])
    if k != k2:
        raise _invalid(fn, f"x1's k = {k} but x2's = {k2}")
    lead = (m,) if args.get("transposeX1") else tuple(x1.shape[:-1])
    _shape_is(fn, "out", out, lead + (n,))
    if int(np.prod(args[names.scale].shape, dtype=np.int64)) not in (1, n):
        raise _invalid(fn, f"{names.scale} shape {tuple(args[names.scale].shape)}: expected 1 or {n} elements")
    pt = args.get(names.pertoken)
    if _present(pt) and int(np.prod(pt.shape, dtype=np.int64)) != m:
        raise _invalid(fn, f"{names.pertoken} shape {tuple(pt.shape)}: expected {m} elements")
    if _present(args.get("bias")) and int(np.prod(args["bias"].shape, dtype=np.int64)) != n:
        raise _invalid(fn, f"bias shape {tuple(args['bias'].shape)}: expected {n} elements")
    return m, k, n


def _as_arg(t: DeviceTensor | None, values: np.ndarray | None = None) -> TensorArg | None:
    if not _present(t):
        return None
    return TensorArg.from_array(np.ascontiguousarray(_values(t) if values is None else values), t.dtype)


def _quant_matmul(fn: str, args: dict) -> dict[str, np.ndarray]:
    names = _QUANT_NAMES[fn]
    x1 = _values(args["x1"])
    x1 = x1.T if args.get("transposeX1") else x1.reshape(-1, x1.shape[-1])
    x2 = _values(args["x2"])
    x2 = x2.T if args.get("transposeX2") else x2
    out = args["out"]
    rank = {"x1": _as_arg(args["x1"], x1), "x2": _as_arg(args["x2"], x2),
            "dequantScale": _as_arg(args[names.scale]), "pertokenScale": _as_arg(args.get(names.pertoken)),
            "bias": _as_arg(args.get("bias")), "x3": None}
    value = v3_numerics.local_stored(rank, out.dtype, NO_HOOKS, "after_store")
    return {"out": value.reshape(out.shape)}


# --- the quantisation parameter words ---------------------------------------------------------------------

def _trans_quant_check(fn: str, args: dict) -> None:
    _required(fn, args, "scale", "out")
    scale, out = args["scale"], args["out"]
    _dtype_in(fn, "scale", scale, ("float32",))
    _dtype_in(fn, "offset", args.get("offset"), ("float32",))
    _dtype_in(fn, "out", out, ("int64", "uint64"))
    if int(args.get("roundMode") or 0) not in (0, 1):
        raise _invalid(fn, f"roundMode {args['roundMode']} is not 0 or 1")
    shapes = [tuple(scale.shape)] + ([tuple(args["offset"].shape)] if _present(args.get("offset")) else [])
    try:
        want = np.broadcast_shapes(*shapes)
    except ValueError:
        raise _invalid(fn, f"scale {shapes[0]} and offset {shapes[-1]} do not broadcast") from None
    _shape_is(fn, "out", out, want)


def _trans_quant(fn: str, args: dict) -> dict[str, np.ndarray]:
    """The 64-bit words a quantised matmul's scale takes (quant.trans_quant_param: FP19 of the scale, bit 46, the
    offset in bits 37..45; aclnnTransQuantParamV2.md:30-50)."""
    offset = _values(args["offset"]) if _present(args.get("offset")) else None
    words = quant.trans_quant_param(_values(args["scale"]), offset, int(args.get("roundMode") or 0))
    return {"out": np.broadcast_to(words, args["out"].shape).view(np.int64 if args["out"].dtype == "int64"
                                                                    else np.uint64)}


# --- the NZ weight ------------------------------------------------------------------------------------------

def stored_dims(t: DeviceTensor) -> tuple[int, int]:
    """The (rows, cols) matrix a 2-D weight's storage holds row-major: the view itself, or for a transposed view
    (strides (1, rows of the view), as a caller passes x2 with transposeX2) the view's transpose. The weight
    may be non-contiguous (hicann/ops-math@c4193324 conversion/trans_data/docs/aclnnTransMatmulWeight.md:82);
    the tiling is of the stored matrix, as the catalogue's NZ x2 and aclnnCalculateMatmulWeightSizeV2 of the
    stored dims have it. A view with a dimension of 1 lies the same either way: not transposed."""
    rows, cols = t.shape
    transposed = rows > 1 and cols > 1 and tuple(t.strides) == (1, rows)
    return (cols, rows) if transposed else (rows, cols)


def converted_weight(t: DeviceTensor) -> tuple[str, tuple[int, ...]]:
    """The format and storage dims aclnnTransMatmulWeight gives its tensor: the weight is refreshed in place
    into the matmul's preferred private format (hicann/ops-math@c4193324
    conversion/trans_data/docs/aclnnTransMatmulWeight.md:78), on Atlas A2 the FRACTAL_NZ tiling of the 2-D
    stored (rows, cols) matrix. The C side updates the aclTensor's descriptor with these (cann_twin.c)."""
    rows, cols = stored_dims(t)
    return "FRACTAL_NZ", quant.nz_storage_shape(rows, cols, t.storage.dtype.itemsize)


def _converted_already(t: DeviceTensor) -> bool:
    """The C side may re-describe the tensor (format NZ, the tiling's storage dims) before the launch runs."""
    return (t.format == "FRACTAL_NZ" and len(t.shape) == 2
            and tuple(t.storage_shape) == converted_weight(t)[1])


def _trans_weight_check(fn: str, args: dict) -> None:
    _required(fn, args, "mmWeightRef")
    t = args["mmWeightRef"]
    _dtype_in(fn, "mmWeightRef", t, ("float16", "bfloat16", "int8"))
    if len(t.shape) != 2 or (t.format != "ND" and not _converted_already(t)):
        raise _invalid(fn, f"mmWeightRef is {len(t.shape)}-D {t.format}: the twin converts a 2-D ND weight only")
    need = int(np.prod(converted_weight(t)[1], dtype=np.int64))
    if t.storage.size - t.offset < need:
        raise _invalid(fn, f"mmWeightRef's buffer holds {t.storage.size - t.offset} elements, the NZ weight "
                           f"{need} (size it with aclnnCalculateMatmulWeightSizeV2)")


def _trans_weight(fn: str, args: dict) -> dict[str, np.ndarray]:
    """The stored matrix (the view, or a transposed view's transpose; once re-described, the row-major matrix at
    the storage's start) written back over the same storage as its NZ tiling."""
    t = args["mmWeightRef"]
    rows, cols = stored_dims(t)
    if _converted_already(t):
        nd = t.storage[t.offset:t.offset + rows * cols].reshape(rows, cols)
    else:
        nd = t.view() if (rows, cols) == tuple(t.shape) else t.view().T
    tiles = quant.nd_to_nz(np.array(nd))
    t.storage[t.offset:t.offset + tiles.size] = tiles.reshape(-1)  # the storage itself, not the view
    return {}


# --- the table ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Op:
    check: Callable[[str, dict], object]  # raises Rejected
    run: Callable[[str, dict], dict[str, np.ndarray]]  # the outputs by argument name (written by launch)


_OPS: dict[str, _Op] = {
    "aclnnMatmul": _Op(_matmul_shape, _matmul),
    "aclnnMm": _Op(_matmul_shape, _matmul),
    "aclnnMatmulWeightNz": _Op(_matmul_shape, _matmul),
    "aclnnAdd": _Op(_add_check, _add),
    "aclnnAdds": _Op(_add_check, _add),
    "aclnnAddRmsNorm": _Op(_add_rms_norm_check, _add_rms_norm),
    "aclnnQuantMatmulV4": _Op(_quant_dims, _quant_matmul),
    "aclnnQuantMatmulV5": _Op(_quant_dims, _quant_matmul),
    "aclnnQuantMatmulWeightNz": _Op(_quant_dims, _quant_matmul),
    "aclnnTransQuantParamV2": _Op(_trans_quant_check, _trans_quant),
    "aclnnTransQuantParamV3": _Op(_trans_quant_check, _trans_quant),
    "aclnnTransMatmulWeight": _Op(_trans_weight_check, _trans_weight),
}
assert set(_OPS) == set(CHAIN_PROTOTYPES), "every chain operator has its prototype and back"


def handles(fn: str) -> bool:
    return fn in _OPS


def workspace(fn: str, args: dict) -> Answer:
    try:
        _OPS[fn].check(fn, args)
    except Rejected as exc:
        return Answer(exc.status, message=str(exc))
    return Answer(0)


def launch(fn: str, args: dict) -> Answer:
    op = _OPS[fn]
    try:
        op.check(fn, args)
    except Rejected as exc:  # a launch whose GetWorkspaceSize was refused: the same status again
        return Answer(exc.status, message=str(exc))
    try:
        for name, values in op.run(fn, args).items():
            args[name].write(values)
    except Exception as exc:  # the kernel met an input the checks let through: the stream reports it
        return Answer(0, kernel_status=ACL_ERROR_RT_AICORE_EXCEPTION,
                      message=f"{fn}: kernel failed: {type(exc).__name__}: {exc}")
    return Answer(0)
