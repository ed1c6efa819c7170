"""Cases for QuantMatmulAllReduce (V1): V3's tensors without pertokenScale and comm scales.

Valid cases walk the dtype pairing table of spec/qmar.py (bf16 output with a bf16 dequantScale; fp16 output with
INT64 or UINT64 words) across world sizes and x2 layouts (ND, ND transposed, NZ, NZ transposed); x1 2-D/3-D, bias,
per-tensor/(n)/(1, n) scales and x3 rotate with the combination. x3 is valid with either output (QMAR-AMB-001:
x3 has the output's dtype). Fewer shapes than V3 (tiny and odd), since the arithmetic is V3's, which V3's own
cases exercise in depth; what is this operator's own is its ABI, its dtype table and its ids.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from .. import dtypes, operators
from ..spec.model import INT32_MAX
from ..spec.qmar import OP
from . import v3
from .model import NZ_3D, STRIDED, TRANSPOSED, VALID_WORLD_SIZES, Case, Shape
from .mutate import all_of, null, set_attr, set_tensor

Row = v3.Row
ROWS = (Row("bf16", "bfloat16", "bfloat16", False), Row("fp16_i64", "float16", "int64", False),
        Row("fp16_u64", "float16", "uint64", False))
TINY, ODD = v3.TINY, v3.ODD
X2_LAYOUTS = v3.X2_LAYOUTS
NAMES = ("x1", "x2", "bias", "x3", "dequantScale", "output")  # the ABI's tensors (operators/qmar.py)


def tensors(row: Row, shape: Shape, *, x1_3d: bool = True, x2_layout: str = "nd", bias: bool = True,
            scale_shape: str = "n", x3: bool = True, exact: bool = False) -> dict:
    """V3's tensors for `row` with this operator's arguments only."""
    t = v3.tensors(row, shape, x1_3d=x1_3d, x2_layout=x2_layout, bias=bias, scale_shape=scale_shape, x3=x3,
                   exact=exact)
    return {name: t[name] for name in NAMES}


attrs = v3.attrs


def _case(name, row_out, ws, t, a, *, rejects=False, covers, kind, profile, shape_only=False, notes="", params=()):
    cid = f"{operators.get(OP).short}-{name}-{dtypes.short(row_out)}-w{ws}"
    return Case(id=cid, op=OP, world_size=ws, tensors=tuple(t.items()), attrs=tuple(a.items()), rejects=rejects,
                covers=tuple(covers), kind=kind, profile=profile, shape_only=shape_only, dtype=row_out, notes=notes,
                params=tuple(params))


def _covers(*, x2_layout, bias, x3, deq):
    c = ["QMAR-NUM-001", "QMAR-NUM-006"]
    if deq in ("int64", "uint64"):
        c.append("QMAR-NUM-002")
    if x2_layout in ("ndT", "nzT"):
        c.append("QMAR-LAYOUT-002")
    if x2_layout.startswith("nz"):
        c.append("QMAR-FORMAT-001")
    if not (bias and x3):
        c.append("QMAR-NULL-002")
    return c


def _name(shape, row, x1_3d, x2_layout, bias, scale_shape, x3):
    return (f"{shape.name}-{row.name}-x1_{'3d' if x1_3d else '2d'}-x2{x2_layout}-{'bias' if bias else 'nobias'}"
            f"-deq{scale_shape}-{'x3' if x3 else 'nox3'}")


def valid_cases() -> list[Case]:
    cases = []
    for shape in (TINY, ODD):
        for i, (row, ws, x2_layout) in enumerate(itertools.product(ROWS, VALID_WORLD_SIZES, X2_LAYOUTS)):
            j = i + i // 4 + i // 16  # shifted per size and row, so the rotating choices meet every layout
            if shape is ODD and j % 2:
                continue  # the odd shape on every other combination: each row, size and layout still meets it
            x1_3d, bias, x3 = j % 2 == 0 if shape is TINY else i % 3 != 0, j % 3 != 1, j % 4 != 3
            scale_shape = ("n", "1", "1n")[j % 3]
            smoke = shape is TINY and ws <= 2 and x2_layout in ("nd", "nz") and row.name != "fp16_u64"
            t = tensors(row, shape, x1_3d=x1_3d, x2_layout=x2_layout, bias=bias, scale_shape=scale_shape, x3=x3)
            cases.append(_case(_name(shape, row, x1_3d, x2_layout, bias, scale_shape, x3), row.out, ws, t,
                               attrs(shape.k), kind="valid", profile="smoke" if smoke else "signoff",
                               covers=_covers(x2_layout=x2_layout, bias=bias, x3=x3, deq=row.deq)))
    # the 65535 limits met for real (x2 at most 16 x 65536 int8 per rank)
    for row, ws in itertools.product(ROWS[:2], (1, 8)):
        for name, shape, layout, cid in (("k65535", Shape("b", 1, 2, 65535, 16), "nd", "QMAR-BOUND-002"),
                                         ("n65535_x2N", Shape("b", 1, 2, 16, 65535), "nd", "QMAR-BOUND-003"),
                                         ("n65536_x2T", Shape("b", 1, 2, 16, 65536), "ndT", "QMAR-BOUND-003")):
            cases.append(_case(f"{cid}-{name}", row.out, ws, tensors(row, shape, x2_layout=layout), attrs(shape.k),
                               kind="valid", profile="signoff", covers=[cid, "QMAR-NUM-001"]))
    return cases


def exact_cases() -> list[Case]:
    """Integral path: x1, x2 in {-1, 0, 1}, k = 8, bias and x3 in [-2, 2], scales 1: every value is an integer
    below 8 * (8 + 2 + 2) = 96 in magnitude, exact in bf16 and fp16. The FP19 cases pass an unmasked word of
    1 + 2^-11, which the hardware applies as 1.0 (QMAR-NUM-002): a kernel that skips the truncation moves them."""
    cases = []
    shape = Shape("exact", 2, 3, 8, 40)
    for row, ws in itertools.product(ROWS, VALID_WORLD_SIZES):
        t = tensors(row, shape, x2_layout="nz" if ws % 4 == 0 else "nd", exact=True)
        smoke = ws == 2 and row.name != "fp16_u64"
        cases.append(_case(f"exact-{row.name}", row.out, ws, t, attrs(8), kind="exact",
                           profile="smoke" if smoke else "signoff",
                           covers=["QMAR-NUM-005", "QMAR-NUM-001", "QMAR-NUM-006"]
                           + (["QMAR-NUM-002"] if row.deq in ("int64", "uint64") else [])))
    for ws, k in ((1, 2), (2, 1)):
        for row in ROWS[1:]:
            t = tensors(row, Shape("fp19", 1, 6, k, 48), bias=False, x3=False, scale_shape="1")
            t["x1"] = replace(t["x1"], values="int:20:30")
            t["x2"] = replace(t["x2"], values="int:20:30")
            t["dequantScale"] = replace(t["dequantScale"], values="word_unmasked:1.00048828125")
            cases.append(_case(f"exact_fp19_unmasked_word-{row.name}", row.out, ws, t, attrs(k), kind="exact",
                               profile="signoff", covers=["QMAR-NUM-002", "QMAR-NUM-005"]))
    return cases


def _x3(**changes):
    """x3 changed (every base row carries one)."""
    def f(t, a):
        t["x3"] = replace(t["x3"], **changes)
    return f


DESCRIPTORS_ONLY = ("k65536", "n65536_x2N")  # mutations whose cases are shape-only: the over-large dims


def _mutations(row: Row, x1_3d: bool = True):
    """(name, constraint, mutate) from the base row `row` (tiny, every optional tensor present) with a 3-D or 2-D x1."""
    T = TINY
    rows = (T.b, T.s) if x1_3d else (T.m,)  # the leading dims of x1, x3 and output
    none = (0, T.s) if x1_3d else (0,)  # the same with m = 0
    lead2 = (1, 2) if x1_3d else (2,)  # two rows: the k = 65536 case stays small
    other_float = "float16" if row.out == "bfloat16" else "bfloat16"
    s = set_tensor
    return [
        ("null_x1", "QMAR-NULL-001", null("x1")),
        ("null_x2", "QMAR-NULL-001", null("x2")),
        ("null_dequantScale", "QMAR-NULL-001", null("dequantScale")),
        ("null_output", "QMAR-NULL-001", null("output")),
        ("x1_int32", "QMAR-DTYPE-001", s("x1", dtype="int32")),
        ("x2_fp16", "QMAR-DTYPE-001", s("x2", dtype="float16", values="unit")),
        ("bias_fp32", "QMAR-DTYPE-002", s("bias", dtype="float32")),
        ("output_fp32", "QMAR-DTYPE-003", s("output", dtype="float32")),
        ("x3_other_float", "QMAR-DTYPE-007", _x3(dtype=other_float)),
        ("x1_1d", "QMAR-SHAPE-001", s("x1", shape=(T.k,))),
        ("x1_4d", "QMAR-SHAPE-001", s("x1", shape=(1, T.b, T.s, T.k))),
        ("x2_3d", "QMAR-SHAPE-002", s("x2", shape=(1, T.k, T.n))),
        ("x2_nz_3d_storage", "QMAR-SHAPE-003", s("x2", layout=NZ_3D, format="FRACTAL_NZ")),
        ("k_mismatch", "QMAR-SHAPE-004", s("x2", shape=(T.k + 1, T.n))),
        ("bias_2d", "QMAR-SHAPE-005", s("bias", shape=(1, T.n))),
        ("bias_len", "QMAR-SHAPE-005", s("bias", shape=(T.n + 1,))),
        ("x3_shape", "QMAR-SHAPE-006", _x3(shape=(*rows, T.n + 1))),
        ("deq_len", "QMAR-SHAPE-007", s("dequantScale", shape=(T.n + 1,))),
        ("deq_3d", "QMAR-SHAPE-007", s("dequantScale", shape=(1, 1, T.n))),
        ("output_shape", "QMAR-SHAPE-009", all_of(s("output", shape=(*rows, T.n + 1)), _x3(shape=(*rows, T.n + 1)))),
        ("x1_transposed", "QMAR-LAYOUT-001", s("x1", layout=TRANSPOSED)),
        ("x1_strided", "QMAR-LAYOUT-001", s("x1", layout=STRIDED)),
        ("x2_strided", "QMAR-LAYOUT-003", s("x2", layout=STRIDED)),
        ("x1_nz", "QMAR-FORMAT-002", s("x1", format="FRACTAL_NZ")),
        ("x2_nchw", "QMAR-FORMAT-003", s("x2", format="NCHW")),
        ("bias_nz", "QMAR-FORMAT-004", s("bias", format="FRACTAL_NZ")),
        ("x3_nz", "QMAR-FORMAT-004", _x3(format="FRACTAL_NZ")),
        ("deq_nz", "QMAR-FORMAT-004", s("dequantScale", format="FRACTAL_NZ")),
        ("output_nz", "QMAR-FORMAT-004", s("output", format="FRACTAL_NZ")),
        ("empty_m", "QMAR-EMPTY-001", all_of(s("x1", shape=(*none, T.k)), _x3(shape=(*none, T.n)),
                                             s("output", shape=(*none, T.n)))),
        ("empty_k", "QMAR-EMPTY-001", all_of(s("x1", shape=(*rows, 0)), s("x2", shape=(0, T.n)))),
        ("k65536", "QMAR-BOUND-002", all_of(s("x1", shape=(*lead2, 65536)), s("x2", shape=(65536, T.n)),
                                            _x3(shape=(*lead2, T.n)), s("output", shape=(*lead2, T.n)))),
        ("n65536_x2N", "QMAR-BOUND-003", all_of(*[s(nm, shape=sh) for nm, sh in (
            ("x2", (T.k, 65536)), ("bias", (65536,)), ("output", (*rows, 65536)), ("dequantScale", (65536,)),
            ("x3", (*rows, 65536)))])),
        ("reduce_max", "QMAR-ATTR-001", set_attr("reduceOp", "max")),
        ("commturn_1", "QMAR-ATTR-002", set_attr("commTurn", 1)),
        ("commturn_2pow32", "QMAR-ATTR-002", set_attr("commTurn", 2**32)),  # not 0, but 0 in its low 32 bits
        ("streammode_0", "QMAR-ATTR-003", set_attr("streamMode", 0)),
    ]


def _pairing_mutations():
    """(name, row, constraint, mutate): dequantScale / x3 dtypes that break the pairing table."""
    bf16, fp16 = ROWS[0], ROWS[1]
    s = set_tensor
    return [
        ("bf16_out_f32_deq", bf16, "QMAR-DTYPE-004", s("dequantScale", dtype="float32", values="deq:f32")),
        ("bf16_out_i64_deq", bf16, "QMAR-DTYPE-004", s("dequantScale", dtype="int64", values="deq:word")),
        ("fp16_f32_deq", fp16, "QMAR-DTYPE-006", s("dequantScale", dtype="float32", values="deq:f32")),
        ("fp16_bf16_deq", fp16, "QMAR-DTYPE-006", s("dequantScale", dtype="bfloat16", values="deq:bf16")),
        ("bf16_out_fp16_x3", bf16, "QMAR-DTYPE-007", s("x3", dtype="float16")),
        ("fp16_out_bf16_x3", fp16, "QMAR-DTYPE-007", s("x3", dtype="bfloat16")),
    ]


BASE_ROWS = (ROWS[1], ROWS[0])  # the invalid cases' base rows, one per output dtype; the fp16 one keeps the smoke
_BASE_WORLDS = {"fp16_i64": (2, 8), "bf16": (1, 4)}  # each base row on two sizes: all four between them
SMOKE = {"null_x1", "null_dequantScale", "k_mismatch", "empty_k", "output_fp32"}


def invalid_cases() -> list[Case]:
    cases = []
    for base_row in BASE_ROWS:  # on the first of its two world sizes with a 3-D x1, on the second with a 2-D one
        for ws, x1_3d in zip(_BASE_WORLDS[base_row.name], (True, False)):
            for name, cid, mutate in _mutations(base_row, x1_3d):
                t, a = tensors(base_row, TINY, x1_3d=x1_3d), attrs(TINY.k)
                mutate(t, a)
                smoke = name in SMOKE and ws == 2
                cases.append(_case(f"{cid}-{name}{_rank_suffix(x1_3d)}", base_row.out, ws, t, a, rejects=True,
                                   covers=[cid], kind="invalid", profile="smoke" if smoke else "signoff",
                                   shape_only=name in DESCRIPTORS_ONLY))
    for name, row, cid, mutate in _pairing_mutations():
        for ws, x1_3d in ((1, True), (8, False)):
            t, a = tensors(row, TINY, x1_3d=x1_3d), attrs(TINY.k)
            mutate(t, a)
            cases.append(_case(f"{cid}-{name}{_rank_suffix(x1_3d)}", row.out, ws, t, a, rejects=True, covers=[cid],
                               kind="invalid", profile="signoff"))
    for base_row, (ws, x1_3d) in itertools.product(BASE_ROWS, ((3, True), (6, False))):
        cases.append(_case(f"QMAR-WORLD-001-world{_rank_suffix(x1_3d)}", base_row.out, ws,
                           tensors(base_row, TINY, x1_3d=x1_3d), attrs(TINY.k), rejects=True,
                           covers=["QMAR-WORLD-001"], kind="invalid", profile="signoff"))
    for base_row, ws in itertools.product(BASE_ROWS, (1, 8)):  # INT32_MAX on m (2-D) and b*s (3-D): descriptors only
        for name, m_, rejects in (("m_at_max", INT32_MAX, False), ("m_over_max", 2**31, True)):
            t = tensors(base_row, Shape("bound", 1, m_, 16, 32), x1_3d=False)
            smoke = ws == 1 and rejects and base_row is BASE_ROWS[0]
            cases.append(_case(f"QMAR-BOUND-001-{name}", base_row.out, ws, t, attrs(16), rejects=rejects,
                               covers=["QMAR-BOUND-001"], kind="invalid" if rejects else "valid",
                               profile="smoke" if smoke else "signoff", shape_only=True))
        t = tensors(base_row, Shape("bound", 2, 2**30, 16, 32))  # b*s = 2**31 with a 3-D x1
        cases.append(_case("QMAR-BOUND-001-bs_over_max", base_row.out, ws, t, attrs(16), rejects=True,
                           covers=["QMAR-BOUND-001"], kind="invalid", profile="signoff", shape_only=True))
    return cases


def _rank_suffix(x1_3d: bool) -> str:
    return "" if x1_3d else "-x1_2d"


def all_cases() -> list[Case]:
    return valid_cases() + exact_cases() + invalid_cases()


# ---- for the fuzzer (conformance/fuzz/strategies.py) -----------------------------------------------------------

def mutation_base(op: str, dtype: str) -> tuple[dict, dict] | None:
    """The valid tiny case (tensors, attrs) the invalid cases at output dtype `dtype` are mutated from."""
    row = next((r for r in BASE_ROWS if r.out == dtype), None)
    return (tensors(row, TINY), attrs(TINY.k)) if row else None


def limit_cases() -> list[Case]:
    """Shape-only cases at limit - 1, limit and limit + 1 of every bound (INT32_MAX for m, 65535 for k, n)."""
    out = []
    row = BASE_ROWS[0]
    for cid, shape_of, limit in (("QMAR-BOUND-002", lambda v: Shape("limit", 1, 2, v, 32), 65535),
                                 ("QMAR-BOUND-003", lambda v: Shape("limit", 1, 2, 16, v), 65535),
                                 ("QMAR-BOUND-001", lambda v: Shape("limit", 1, v, 16, 32), INT32_MAX)):
        for value in (limit - 1, limit, limit + 1):
            rejects = value > limit
            out.append(_case(f"limit-{cid}-{value}", row.out, 2, tensors(row, shape_of(value), x1_3d=False),
                             attrs(16), rejects=rejects, covers=[cid], kind="invalid" if rejects else "valid",
                             profile="smoke", shape_only=True))
    return out



# ---- candidates for the path design (casegen/path_design.py) ---------------------------------------------------
# The tiling (matmul blocks, UB passes, the communication cut) is V3's on the same shapes, and V3's own candidates
# reach it; what this operator decides itself are the kernel variant, the scale mode, bias, x3 and the x2 layout
# (the record's path_own_branches), which small shapes reach.
PATH_ROWS = (1, 16, 128, 257)
PATH_COLS = (16, 61, 256)


def path_candidates() -> list[Case]:
    """Valid cases over a small grid: every pairing-table row, ND and NZ x2 (transposed in turn), bias and x3 in
    turn, per-tensor, (n) and (1, n) scales in turn, world sizes 1 and 2."""
    cases = []
    grid = itertools.product(ROWS, ("nd", "nz"), PATH_ROWS, PATH_COLS, (1, 2))
    for i, (row, layout, m, n, ws) in enumerate(grid):
        x2_layout = layout + ("T" if i % 2 else "")
        bias, x3, scale_shape = i % 3 != 1, i % 4 != 3, ("n", "1", "1n")[i % 3]
        shape = Shape("path", 1, m, 16, n)
        t = tensors(row, shape, x2_layout=x2_layout, bias=bias, scale_shape=scale_shape, x3=x3)
        name = "path-" + _name(shape, row, True, x2_layout, bias, scale_shape, x3).replace("path-", f"m{m}n{n}-", 1)
        cases.append(_case(name, row.out, ws, t, attrs(16), kind="valid", profile="signoff",
                           params=(("mkn", (m, 16, n)),),
                           covers=_covers(x2_layout=x2_layout, bias=bias, x3=x3, deq=row.deq)))
    return cases
