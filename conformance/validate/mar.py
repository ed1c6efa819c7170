"""What GetWorkspaceSize of aclnnMatmulAllReduce checks, one rule per constraint id (the conventions in
validate.common: the first violated rule wins, hooks where a fault could decide otherwise, no rule touches data)."""

from __future__ import annotations

from ..hooks import INT32_BOUND_EXCEEDED, NO_HOOKS, TRANSPOSED_X2_REJECTED, Hooks, site
from ..protocol import TensorArg
from ..spec.model import INT32_MAX, VALID_WORLD_SIZES  # noqa: F401  (VALID_WORLD_SIZES: tests/test_layering.py)
from .common import CATALOGUE, communication_rules, first_violation

FLOAT_DTYPES = ("float16", "bfloat16")
TENSORS = ("x1", "x2", "bias", "output")

# ---- hook sites of these host checks (the generic ones: conformance/hooks.py; the faults: sim/mar_faults.py) ---------
MAR_NULL_BIAS_REJECTED = site("mar.null_bias_rejected", "whether MatmulAllReduce rejects a null bias (False); "
                                                        "context bias")
MAR_OUTPUT_SHAPE = site("mar.output_shape", "the output shape MatmulAllReduce expects (x1's, last dim n); context x1, "
                                            "x2")


def _expected_output(x1: TensorArg, x2: TensorArg) -> tuple[int, ...]:
    return tuple(x1.shape[:-1]) + (x2.shape[1],)


def _rules(op: str, t: dict, attrs: dict, world_size: int, hooks: Hooks):
    """Yield (constraint id, status, message or None) lazily; each rule only looks at present tensors."""
    for name in ("x1", "x2", "output"):
        yield "MAR-NULL-001", CATALOGUE, (f"{name} is null" if t.get(name) is None else None)
    if any(t.get(name) is None for name in ("x1", "x2", "output")):
        return  # an unchecked null (a fault) goes on to the kernel, which fails on it
    if hooks.at(MAR_NULL_BIAS_REJECTED, False, bias=t.get("bias")):
        yield "MAR-NULL-002", CATALOGUE, "bias is null"
    present = {k: t[k] for k in TENSORS if t.get(k) is not None}
    for name, v in present.items():
        yield "MAR-DTYPE-001", CATALOGUE, (f"{name} dtype {v.dtype} not in FLOAT16/BFLOAT16"
                                         if v.dtype not in FLOAT_DTYPES else None)
    x1 = present["x1"]
    for name, v in present.items():
        yield "MAR-DTYPE-002", CATALOGUE, (f"{name} dtype {v.dtype} differs from x1 dtype {x1.dtype}"
                                         if v.dtype != x1.dtype else None)
    for name, v in present.items():
        yield "MAR-FORMAT-001", CATALOGUE, (f"{name} format {v.format} is not ND" if v.format != "ND" else None)

    x2, bias, out = present["x2"], present.get("bias"), present["output"]
    yield "MAR-SHAPE-001", CATALOGUE, (f"x1 is {len(x1.shape)}-D, expected 2-D or 3-D"
                                     if len(x1.shape) not in (2, 3) else None)
    yield "MAR-SHAPE-002", CATALOGUE, (f"x2 is {len(x2.shape)}-D, expected 2-D" if len(x2.shape) != 2 else None)
    if len(x1.shape) not in (2, 3) or len(x2.shape) != 2:
        return
    k, n = x1.shape[-1], x2.shape[1]
    m = x1.shape[0] * (x1.shape[1] if len(x1.shape) == 3 else 1)
    yield "MAR-SHAPE-003", CATALOGUE, (f"x1 k={k} but x2 k={x2.shape[0]}" if x2.shape[0] != k else None)
    if bias is not None:
        yield "MAR-SHAPE-004", CATALOGUE, (f"bias shape {bias.shape}, expected ({n},)" if bias.shape != (n,) else None)
    want = hooks.at(MAR_OUTPUT_SHAPE, _expected_output(x1, x2), x1=x1, x2=x2)
    yield "MAR-SHAPE-005", CATALOGUE, (f"output shape {tuple(out.shape)}, expected {want}"
                                     if tuple(out.shape) != tuple(want) else None)

    def over(v):
        return hooks.at(INT32_BOUND_EXCEEDED, v > INT32_MAX, v=v, limit=INT32_MAX)

    if len(x1.shape) == 3:  # (b, s, k): the document bounds b*s
        yield "MAR-BOUND-001", CATALOGUE, (f"b*s = {m} exceeds INT32_MAX" if over(m) else None)
    else:
        yield "MAR-BOUND-002", CATALOGUE, (f"m = {m} exceeds INT32_MAX" if over(m) else None)
    yield "MAR-BOUND-003", CATALOGUE, (f"k = {k} exceeds INT32_MAX" if over(k) else None)
    yield "MAR-BOUND-004", CATALOGUE, (f"n = {n} exceeds INT32_MAX" if over(n) else None)

    yield "MAR-LAYOUT-001", CATALOGUE, ("x1 is not contiguous" if not x1.is_contiguous else None)
    x2_ok = x2.is_contiguous or (x2.is_last_two_transposed
                                 and not hooks.at(TRANSPOSED_X2_REJECTED, False, transposed=True))
    if not x2_ok:
        cid = "MAR-LAYOUT-002" if x2.is_last_two_transposed else "MAR-LAYOUT-003"
        yield cid, CATALOGUE, f"x2 strides {x2.strides} are neither contiguous nor a last-two-axes transpose"
    yield from communication_rules("MAR", attrs, world_size)


def validate(op: str, tensors: dict[str, TensorArg | None], attrs: dict, world_size: int,
             hooks: Hooks = NO_HOOKS) -> tuple[int, str, str]:
    return first_violation(_rules(op, tensors, attrs, world_size, hooks), hooks)
