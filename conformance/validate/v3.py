"""What GetWorkspaceSize of aclnnQuantMatmulAllReduceV3 checks, one rule per constraint id (see
validate.marn for the conventions: first violated rule wins, hooks (conformance/hooks.py; this operator's own sites
below) where a fault could decide otherwise, no rule touches tensor data)."""

from __future__ import annotations

from .. import quant
from ..hooks import INT32_BOUND_EXCEEDED, NO_HOOKS, TRANSPOSED_X2_REJECTED, Hooks, site
from ..spec.model import INT32_MAX, VALID_WORLD_SIZES  # noqa: F401  (VALID_WORLD_SIZES: tests/test_layering.py)
from .common import CATALOGUE, communication_rules, first_violation

DIM_MAX = 65535
OUT_DTYPES = ("float16", "bfloat16")

# ---- hook sites of these host checks (the generic ones: conformance/hooks.py; the faults: sim/v3_faults.py) ----------
V3_DIM_BOUND_EXCEEDED = site("v3.dim_bound_exceeded", "whether a V3 dimension v exceeds 65535 (v > limit); context "
                                                      "v, limit")
V3_NZ_X2_REJECTED = site("v3.nz_x2_rejected", "whether V3 rejects x2 for its format (False); context x2")
V3_NULL_OPTIONAL_REJECTED = site("v3.null_optional_rejected", "whether V3 rejects a null optional tensor (False); "
                                                              "context bias, x3, pertoken")


def _rules(op, t, attrs, world_size, hooks: Hooks):
    for name in ("x1", "x2", "dequantScale", "output"):
        yield "V3-NULL-001", CATALOGUE, (f"{name} is null" if t.get(name) is None else None)
    x1, x2, bias, x3, deq, pt, c1, c2, out = (t.get(n) for n in (
        "x1", "x2", "bias", "x3", "dequantScale", "pertokenScale", "commQuantScale1", "commQuantScale2", "output"))
    if x1 is None or x2 is None or deq is None or out is None:
        return
    yield "V3-DTYPE-001", CATALOGUE, (f"x1/x2 dtypes {x1.dtype}/{x2.dtype}, expected int8"
                                    if (x1.dtype, x2.dtype) != ("int8", "int8") else None)
    if bias is not None:
        yield "V3-DTYPE-002", CATALOGUE, (f"bias dtype {bias.dtype}, expected int32" if bias.dtype != "int32" else None)
    yield "V3-DTYPE-003", CATALOGUE, (f"output dtype {out.dtype} not FLOAT16/BFLOAT16"
                                    if out.dtype not in OUT_DTYPES else None)
    if out.dtype not in OUT_DTYPES:
        return
    if pt is not None:
        yield "V3-DTYPE-008", CATALOGUE, (f"pertokenScale dtype {pt.dtype}, expected float32"
                                        if pt.dtype != "float32" else None)
    if out.dtype == "bfloat16":
        yield "V3-DTYPE-004", CATALOGUE, (f"bf16 output needs a bfloat16 dequantScale, got {deq.dtype}"
                                        if deq.dtype != "bfloat16" else None)
    elif pt is not None:
        yield "V3-DTYPE-005", CATALOGUE, ("fp16 output with pertokenScale needs a float32 dequantScale, "
                                         f"got {deq.dtype}" if deq.dtype != "float32" else None)
    else:
        yield "V3-DTYPE-006", CATALOGUE, (f"fp16 output without pertokenScale needs an int64/uint64 dequantScale, got "
                                        f"{deq.dtype}" if deq.dtype not in ("int64", "uint64") else None)
    if x3 is not None:
        yield "V3-DTYPE-007", CATALOGUE, (f"x3 dtype {x3.dtype} differs from output {out.dtype}"
                                        if x3.dtype != out.dtype else None)
    yield "V3-COMM-001", CATALOGUE, ("only one of commQuantScale1/2 is given" if (c1 is None) != (c2 is None) else None)
    if c1 is not None and c2 is not None:
        yield "V3-COMM-003", CATALOGUE, (f"comm scale dtypes {c1.dtype}/{c2.dtype} differ from output {out.dtype}"
                                       if (c1.dtype, c2.dtype) != (out.dtype, out.dtype) else None)
    yield "V3-FORMAT-002", CATALOGUE, (f"x1 format {x1.format} is not ND" if x1.format != "ND" else None)
    yield "V3-FORMAT-003", CATALOGUE, (f"x2 format {x2.format} is neither ND nor FRACTAL_NZ"
                                     if x2.format not in ("ND", "FRACTAL_NZ") else None)
    for name, v in (("bias", bias), ("x3", x3), ("dequantScale", deq), ("pertokenScale", pt),
                    ("commQuantScale1", c1), ("commQuantScale2", c2), ("output", out)):
        if v is not None:
            yield "V3-FORMAT-004", CATALOGUE, (f"{name} format {v.format} is not ND" if v.format != "ND" else None)
    yield "V3-SHAPE-001", CATALOGUE, (f"x1 is {len(x1.shape)}-D, expected 2-D or 3-D"
                                    if len(x1.shape) not in (2, 3) else None)
    if x2.format == "FRACTAL_NZ":
        rows, cols = (x2.shape[-1], x2.shape[-2]) if (len(x2.shape) == 2 and x2.is_last_two_transposed
                                                      and not x2.is_contiguous) else x2.shape[-2:]
        want = quant.nz_storage_shape(rows, cols) if len(x2.shape) == 2 else None
        yield "V3-SHAPE-003", CATALOGUE, (f"FRACTAL_NZ x2 storage {x2.storage_shape}, expected 4-D {want}"
                                        if want is None or tuple(x2.storage_shape or ()) != want else None)
    else:
        yield "V3-SHAPE-002", CATALOGUE, (f"x2 is {len(x2.shape)}-D, expected 2-D" if len(x2.shape) != 2 else None)
    if len(x1.shape) not in (2, 3) or len(x2.shape) != 2:
        return
    k, n = x1.shape[-1], x2.shape[1]
    m = x1.shape[0] * (x1.shape[1] if len(x1.shape) == 3 else 1)
    out_shape = tuple(x1.shape[:-1]) + (n,)
    yield "V3-SHAPE-004", CATALOGUE, (f"x1 k={k} but x2 k={x2.shape[0]}" if x2.shape[0] != k else None)
    if bias is not None:
        yield "V3-SHAPE-005", CATALOGUE, (f"bias shape {bias.shape}, expected ({n},)" if bias.shape != (n,) else None)
    yield "V3-SHAPE-009", CATALOGUE, (f"output shape {out.shape}, expected {out_shape}"
                                    if tuple(out.shape) != out_shape else None)
    if x3 is not None:
        yield "V3-SHAPE-006", CATALOGUE, (f"x3 shape {x3.shape} differs from output {out.shape}"
                                        if x3.shape != out.shape else None)
    yield "V3-SHAPE-007", CATALOGUE, (f"dequantScale shape {deq.shape}, expected (1), ({n}) or (1, {n})"
                                    if tuple(deq.shape) not in ((1,), (n,), (1, n)) else None)
    if pt is not None:
        yield "V3-SHAPE-008", CATALOGUE, (f"pertokenScale shape {pt.shape}, expected ({m},)"
                                        if tuple(pt.shape) != (m,) else None)
    if c1 is not None and c2 is not None:
        ok = c1.shape == c2.shape and tuple(c1.shape) in ((n,), (1, n))
        yield "V3-COMM-002", CATALOGUE, (None if ok else f"comm scale shapes {c1.shape}/{c2.shape}, expected equal "
                                                       f"({n},) or (1, {n})")
    empty = [nm for nm, v in t.items() if v is not None and v.numel == 0]
    yield "V3-EMPTY-001", CATALOGUE, (f"empty tensors are not supported: {', '.join(empty)}" if empty else None)

    def over(v):
        return hooks.at(INT32_BOUND_EXCEEDED, v > INT32_MAX, v=v, limit=INT32_MAX)

    yield "V3-BOUND-001", CATALOGUE, (f"m = {m} exceeds INT32_MAX" if over(m) else None)

    def dim_over(v):
        return hooks.at(V3_DIM_BOUND_EXCEEDED, v > DIM_MAX, v=v, limit=DIM_MAX)

    yield "V3-BOUND-002", CATALOGUE, (f"k = {k} exceeds 65535" if dim_over(k) else None)
    transposed = x2.is_last_two_transposed and not x2.is_contiguous
    last = k if transposed else n
    yield "V3-BOUND-003", CATALOGUE, (f"x2's last dimension ({'k' if transposed else 'n'} = {last}) exceeds 65535"
                                    if dim_over(last) else None)
    yield "V3-LAYOUT-001", CATALOGUE, ("x1 is not contiguous" if not x1.is_contiguous else None)
    if not (x2.is_contiguous or x2.is_last_two_transposed):
        yield "V3-LAYOUT-003", CATALOGUE, f"x2 strides {x2.strides} are neither contiguous nor a transpose"
    if hooks.at(TRANSPOSED_X2_REJECTED, False, transposed=transposed):
        yield "V3-LAYOUT-002", CATALOGUE, "transposed x2 rejected"
    if hooks.at(V3_NZ_X2_REJECTED, False, x2=x2):
        yield "V3-FORMAT-001", CATALOGUE, "FRACTAL_NZ x2 rejected"
    if hooks.at(V3_NULL_OPTIONAL_REJECTED, False, bias=bias, x3=x3, pertoken=pt):
        yield "V3-NULL-002", CATALOGUE, "an optional tensor is null"
    yield from communication_rules("V3", attrs, world_size)


def validate(op, tensors, attrs, world_size, hooks: Hooks = NO_HOOKS):
    return first_violation(_rules(op, tensors, attrs, world_size, hooks), hooks)
