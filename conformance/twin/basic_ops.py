"""The basic aclnn operators torch_npu runs for tensor creation, copies, casts and element-wise arithmetic.

Not the suite's subject: they exist so that the real torch_npu can make and move tensors on the twin. Semantics
are numpy's, computed in float32 for the half types and float64 for float32/float64 and stored in the output's
dtype (round to nearest even), which is what a device's vector unit gives for these operators within an ulp;
nothing here is judged. Parameter names as documented (cann_twin.c cites each prototype).
"""

from __future__ import annotations

import numpy as np

from .values import Answer, DeviceTensor, RankContext, Scalar

ACLNN_ERR_PARAM_NULLPTR = 161001  # aclnn status of a NULL required argument (the documents' error tables)
WORKSPACE_BYTES = 0


def _compute_dtype(*dtypes: np.dtype) -> np.dtype:
    if any(d.kind == "f" or d.name == "bfloat16" for d in dtypes):
        return np.dtype(np.float64) if any(d == np.float64 for d in dtypes) else np.dtype(np.float32)
    return np.result_type(*dtypes)


def _values(t: DeviceTensor | Scalar) -> np.ndarray:
    if isinstance(t, Scalar):
        return np.asarray(t.value)
    view = t.view()
    return view.astype(np.float32) if view.dtype.name == "bfloat16" else view


def _store(out: DeviceTensor, values: np.ndarray) -> None:
    values = np.broadcast_to(np.asarray(values), out.shape)
    if out.storage.dtype.name == "bfloat16":
        values = values.astype(np.float32)
    out.write(values.astype(out.storage.dtype))


def _one(args):
    _store(args["selfRef"], np.ones(args["selfRef"].shape))


def _zero(args):
    _store(args["selfRef"], np.zeros(args["selfRef"].shape))


def _fill(args):
    _store(args["selfRef"], np.full(args["selfRef"].shape, args["value"].value))


def _fill_tensor(args):
    _store(args["selfRef"], np.full(args["selfRef"].shape, _values(args["value"]).reshape(-1)[0]))


def _copy(args):
    _store(args["selfRef"], _values(args["src"]))


def _cast(args):
    _store(args["out"], _values(args["self"]))


def _alpha(args) -> float:
    alpha = args.get("alpha")
    return 1 if alpha is None else alpha.value


def _binary(op):
    def run(args):
        a, b = _values(args["self"]), _values(args["other"])
        dtype = _compute_dtype(a.dtype, b.dtype)
        _store(args["out"], op(a.astype(dtype), b.astype(dtype), args))
    return run


def _inplace_add(args):
    a, b = _values(args["selfRef"]), _values(args["other"])
    dtype = _compute_dtype(a.dtype, b.dtype)
    _store(args["selfRef"], a.astype(dtype) + _alpha(args) * b.astype(dtype))


def _pad(args):
    """torch's constant_pad_nd: pad pairs (before, after) from the last dimension backwards; negative ones crop."""
    src, out, pad = _values(args["self"]), args["out"], args["pad"]
    result = np.full(out.shape, args["value"].value if args.get("value") is not None else 0, dtype=np.float64)
    dst_index, src_index = [slice(None)] * src.ndim, [slice(None)] * src.ndim
    for k in range(len(pad) // 2):
        dim = src.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        start = max(-before, 0)
        length = src.shape[dim] - start - max(-after, 0)
        src_index[dim] = slice(start, start + max(length, 0))
        dst_index[dim] = slice(max(before, 0), max(before, 0) + max(length, 0))
    result[tuple(dst_index)] = src[tuple(src_index)]
    _store(out, result)


# fn -> (the tensor arguments that must not be NULL, the computation). The benchmark chain's operators (aclnnMatmul,
# aclnnAdd, aclnnAdds, aclnnTransMatmulWeight, ...) are the operators module's (chain_ops.py), asked first.
OPERATORS = {
    "aclnnInplaceOne": (("selfRef",), _one),
    "aclnnInplaceZero": (("selfRef",), _zero),
    "aclnnInplaceFillScalar": (("selfRef", "value"), _fill),
    "aclnnInplaceFillTensor": (("selfRef", "value"), _fill_tensor),
    "aclnnInplaceCopy": (("selfRef", "src"), _copy),
    "aclnnCast": (("self", "out"), _cast),
    "aclnnSub": (("self", "other", "out"), _binary(lambda a, b, args: a - _alpha(args) * b)),
    "aclnnMul": (("self", "other", "out"), _binary(lambda a, b, args: a * b)),
    "aclnnDiv": (("self", "other", "out"), _binary(lambda a, b, args: a / b)),
    "aclnnInplaceAdd": (("selfRef", "other"), _inplace_add),
    "aclnnConstantPadNd": (("self", "pad", "out"), _pad),
    "aclnnMuls": (("self", "other", "out"), _binary(lambda a, b, args: a * b)),
}


def handles(fn: str) -> bool:
    return fn in OPERATORS


def workspace(fn: str, args: dict, ctx: RankContext) -> Answer:
    required, _ = OPERATORS[fn]
    missing = [name for name in required if args.get(name) is None]
    if missing:
        return Answer(status=ACLNN_ERR_PARAM_NULLPTR, message=f"{fn}: {missing[0]} is NULL")
    return Answer(workspace=WORKSPACE_BYTES)


def launch(fn: str, args: dict, ctx: RankContext) -> Answer:
    OPERATORS[fn][1](args)
    return Answer()
