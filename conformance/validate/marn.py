"""What GetWorkspaceSize of the MatmulAllReduceAddRmsNorm pair checks, one rule per constraint id (the
conventions in validate.common)."""

from __future__ import annotations

from .. import operators
from ..hooks import INT32_BOUND_EXCEEDED, NO_HOOKS, TRANSPOSED_X2_REJECTED, Hooks, site
from ..protocol import ACLNN_ERR_PARAM_NULLPTR as NULLPTR
from ..protocol import TensorArg
from ..spec.model import INT32_MAX, VALID_WORLD_SIZES  # noqa: F401  (VALID_WORLD_SIZES: tests/test_layering.py)
from .common import CATALOGUE, communication_rules, first_violation

FLOAT_DTYPES = ("float16", "bfloat16")

# ---- hook sites of these host checks (the generic ones: conformance/hooks.py; the faults: sim/marn_faults.py) --------
MARN_NULL_CODE = site("marn.null_code", "the status of a null required MARN input or output (CATALOGUE: its "
                                        "constraint's code)")
MARN_NULL_BIAS_REJECTED = site("marn.null_bias_rejected", "whether MARN rejects a null bias (False); context bias")
MARN_EMPTY_BS_REJECTED = site("marn.empty_bs_rejected", "whether MARN rejects an empty b*s (False); context m")
MARN_EMPTY_N_REJECTED = site("marn.empty_n_rejected", "whether MARN rejects an empty n (False); context n")
MARN_EPSILON_UPPER = site("marn.epsilon_upper", "the exclusive upper limit of MARN's epsilon (1.0)")


def _rules(op: str, t: dict, attrs: dict, world_size: int, hooks: Hooks):
    """Yield (constraint id, status, message or None) lazily; each rule only looks at present tensors."""
    inplace = operators.get(op).writes_inplace
    outputs = ("normOut",) if inplace else ("y", "normOut")
    null_code = hooks.at(MARN_NULL_CODE, CATALOGUE)
    for name in ("x1", "x2", "residual", "gamma"):
        yield "MARN-NULL-001", null_code, (f"{name} is null" if t.get(name) is None else None)
    for name in outputs:
        yield "MARN-NULL-002", null_code, (f"{name} is null" if t.get(name) is None else None)
    if hooks.at(MARN_NULL_BIAS_REJECTED, False, bias=t.get("bias")):
        yield "MARN-NULL-003", NULLPTR, "bias is null"
    present = {k: v for k, v in t.items() if v is not None}
    for name, v in present.items():
        yield "MARN-DTYPE-001", CATALOGUE, (f"{name} dtype {v.dtype} not in FLOAT16/BFLOAT16"
                                          if v.dtype not in FLOAT_DTYPES else None)
    x1 = present.get("x1")
    for name, v in present.items():
        if x1 is not None and v.dtype != x1.dtype:
            yield "MARN-DTYPE-002", CATALOGUE, f"{name} dtype {v.dtype} differs from x1 dtype {x1.dtype}"
    for name, v in present.items():
        yield "MARN-FORMAT-001", CATALOGUE, (f"{name} format {v.format} is not ND" if v.format != "ND" else None)

    x2, bias, res, gamma = (present.get(n) for n in ("x2", "bias", "residual", "gamma"))
    if x1 is not None:
        yield "MARN-SHAPE-001", CATALOGUE, (f"x1 is {len(x1.shape)}-D, expected 2-D or 3-D"
                                          if len(x1.shape) not in (2, 3) else None)
    if x2 is not None:
        yield "MARN-SHAPE-002", CATALOGUE, (f"x2 is {len(x2.shape)}-D, expected 2-D" if len(x2.shape) != 2 else None)
    if x1 is None or x2 is None or len(x1.shape) not in (2, 3) or len(x2.shape) != 2:
        return
    k, n = x1.shape[-1], x2.shape[1]
    m = x1.shape[0] * (x1.shape[1] if len(x1.shape) == 3 else 1)
    yield "MARN-SHAPE-003", CATALOGUE, (f"x1 k={k} but x2 k={x2.shape[0]}" if x2.shape[0] != k else None)
    if bias is not None:
        yield "MARN-SHAPE-004", CATALOGUE, (f"bias shape {bias.shape}, expected ({n},)" if bias.shape != (n,) else None)
    if res is not None:
        yield "MARN-SHAPE-005", CATALOGUE, (f"residual is {len(res.shape)}-D, expected 3-D (b, s, n)"
                                          if len(res.shape) != 3 else None)
        if len(res.shape) == 3:
            bs = res.shape[0] * res.shape[1]
            want = x1.shape[:2] if len(x1.shape) == 3 else None
            bad = (bs != m) if want is None else (tuple(res.shape[:2]) != tuple(want))
            yield "MARN-SHAPE-006", CATALOGUE, (f"residual (b, s) = {res.shape[:2]} does not match x1 (m = {m})"
                                              if bad else None)
            yield "MARN-SHAPE-007", CATALOGUE, (f"residual n = {res.shape[2]} but x2 n = {n}"
                                              if res.shape[2] != n else None)
    if gamma is not None:
        yield "MARN-SHAPE-008", CATALOGUE, (f"gamma shape {gamma.shape}, expected ({n},)"
                                          if gamma.shape != (n,) else None)
    if res is not None:
        for name, cid in (("y", "MARN-OUT-001"), ("normOut", "MARN-OUT-002")):
            out = present.get(name)
            if out is not None:
                yield cid, CATALOGUE, (f"{name} shape {out.shape} differs from residual {res.shape}"
                                     if out.shape != res.shape else None)

    def over(v):
        return hooks.at(INT32_BOUND_EXCEEDED, v > INT32_MAX, v=v, limit=INT32_MAX)

    if len(x1.shape) == 3:  # (b, s, k): the document bounds b*s
        yield "MARN-BOUND-001", CATALOGUE, (f"b*s = {m} exceeds INT32_MAX" if over(m) else None)
    else:  # (m, k)
        yield "MARN-BOUND-002", CATALOGUE, (f"m = {m} exceeds INT32_MAX" if over(m) else None)
    yield "MARN-BOUND-003", CATALOGUE, (f"k = {k} exceeds INT32_MAX" if over(k) else None)
    yield "MARN-BOUND-004", CATALOGUE, (f"n = {n} exceeds INT32_MAX" if over(n) else None)
    yield "MARN-EMPTY-003", CATALOGUE, ("k is 0 (empty k is not supported)" if k == 0 else None)
    if hooks.at(MARN_EMPTY_BS_REJECTED, False, m=m):
        yield "MARN-EMPTY-001", CATALOGUE, "b*s is 0"
    if hooks.at(MARN_EMPTY_N_REJECTED, False, n=n):
        yield "MARN-EMPTY-002", CATALOGUE, "n is 0"

    yield "MARN-LAYOUT-001", CATALOGUE, ("x1 is not contiguous" if not x1.is_contiguous else None)
    x2_ok = x2.is_contiguous or (x2.is_last_two_transposed
                                 and not hooks.at(TRANSPOSED_X2_REJECTED, False, transposed=True))
    if not x2_ok:
        cid = "MARN-LAYOUT-002" if x2.is_last_two_transposed else "MARN-LAYOUT-003"
        yield cid, CATALOGUE, f"x2 strides {x2.strides} are neither contiguous nor a last-two-axes transpose"
    for name, cid in (("residual", "MARN-LAYOUT-004"), ("gamma", "MARN-LAYOUT-005")):
        v = present.get(name)
        if v is not None:
            yield cid, CATALOGUE, (f"{name} is not contiguous" if not v.is_contiguous else None)

    yield from communication_rules("MARN", attrs, world_size)
    eps = attrs.get("epsilon")
    upper = hooks.at(MARN_EPSILON_UPPER, 1.0)
    yield "MARN-ATTR-004", CATALOGUE, (f"epsilon {eps!r} not in (0, 1)"
                                     if not (isinstance(eps, float) and 0.0 < eps < upper) else None)


def validate(op: str, tensors: dict[str, TensorArg | None], attrs: dict, world_size: int,
             hooks: Hooks = NO_HOOKS) -> tuple[int, str, str]:
    return first_violation(_rules(op, tensors, attrs, world_size, hooks), hooks)
