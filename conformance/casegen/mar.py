"""Cases for MatmulAllReduce, from two small shape families (fewer than its siblings: the matmul and all-reduce it
shares with MatmulAllReduceAddRmsNorm are exercised there at every size).

Valid cases expand over dtype x world size x x1 2-D/3-D x x2 plain/transposed x bias null/present; invalid cases each
start from the valid tiny case and break exactly one constraint; exact cases use small integers so every sum is
representable and the output is known bit for bit; bound cases validate INT32_MAX limits from descriptors alone.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from .. import dtypes, operators
from ..spec.mar import OP
from ..spec.model import INT32_MAX
from .model import CONTIGUOUS, STRIDED, TRANSPOSED, VALID_WORLD_SIZES, Case, Shape, TensorSpec
from .mutate import null, set_all_dtypes, set_attr, set_tensor

DTYPES = operators.get(OP).dtypes
TINY = Shape("tiny", 1, 4, 16, 32, "smoke")
ODD = Shape("odd", 3, 5, 37, 61, "signoff")  # no dimension a multiple of 16


def base_tensors(dtype: str, shape: Shape, *, x1_3d: bool = True, x2_transposed: bool = False,
                 with_bias: bool = True, exact: bool = False) -> dict[str, TensorSpec | None]:
    b, s, k, n, m = shape.b, shape.s, shape.k, shape.n, shape.m
    vals = ({"x1": "int:-1:1", "x2": "int:-1:1", "bias": "int:-2:2"} if exact
            else {"x1": "unit", "x2": "rhs", "bias": "bias"})
    return {
        "x1": TensorSpec(dtype, (b, s, k) if x1_3d else (m, k), vals["x1"]),
        "x2": TensorSpec(dtype, (k, n), vals["x2"], TRANSPOSED if x2_transposed else CONTIGUOUS),
        "bias": TensorSpec(dtype, (n,), vals["bias"]) if with_bias else None,
        "output": TensorSpec(dtype, (b, s, n) if x1_3d else (m, n), "output"),
    }


def base_attrs(*, k: int = 1) -> dict:
    return {"reduceOp": "sum", "commTurn": 0, "streamMode": 1, "_k": k}


def _case(name, dtype, world_size, tensors, attrs, *, rejects=False, covers, kind, profile, shape_only=False,
          notes="", params=()):
    cid = f"{operators.get(OP).short}-{name}-{dtypes.short(dtype)}-w{world_size}"
    return Case(id=cid, op=OP, world_size=world_size, tensors=tuple(tensors.items()), attrs=tuple(attrs.items()),
                rejects=rejects, covers=tuple(covers), kind=kind, profile=profile, shape_only=shape_only,
                dtype=dtype, notes=notes, params=tuple(params))


def _numeric_covers(*, x2_transposed: bool, with_bias: bool) -> list[str]:
    # MAR-SHAPE-005 too: a valid case passes the output shape the rule demands, so a rule that demands another
    # (fault mar-output-n-from-k) rejects it
    covers = ["MAR-NUM-001", "MAR-NUM-002", "MAR-SHAPE-005"]
    if x2_transposed:
        covers.append("MAR-LAYOUT-002")
    if not with_bias:
        covers.append("MAR-NULL-002")
    return covers


def _layout_name(shape: Shape, x1_3d: bool, x2_t: bool, bias: bool) -> str:
    return f"{shape.name}-x1_{'3d' if x1_3d else '2d'}-x2{'T' if x2_t else 'N'}-{'bias' if bias else 'nobias'}"


def valid_cases() -> list[Case]:
    """Every layout combination of the tiny shape at every world size; the odd shape at world sizes 2 and 8."""
    cases = []
    for dtype, (shape, sizes) in itertools.product(DTYPES, ((TINY, VALID_WORLD_SIZES), (ODD, (2, 8)))):
        for ws, (x1_3d, x2_t, bias) in itertools.product(sizes, itertools.product((True, False), repeat=3)):
            canonical = x1_3d and not x2_t and bias
            profile = "smoke" if shape is TINY and canonical and ws <= 2 else "signoff"
            t = base_tensors(dtype, shape, x1_3d=x1_3d, x2_transposed=x2_t, with_bias=bias)
            cases.append(_case(_layout_name(shape, x1_3d, x2_t, bias), dtype, ws, t, base_attrs(k=shape.k),
                               covers=_numeric_covers(x2_transposed=x2_t, with_bias=bias), kind="valid",
                               profile=profile))
    return cases


def exact_cases() -> list[Case]:
    """x1, x2 in {-1, 0, 1}, bias in [-2, 2]: with k <= 24 every partial sum is an integer of magnitude <= 8 * (24 +
    2) = 208 < 256, exact in bf16 and fp16 in any order and at any rounding point, so the output must match bit for
    bit."""
    cases = []
    for dtype, ws in itertools.product(DTYPES, VALID_WORLD_SIZES):
        for shape, x2_t in ((Shape("exact", 2, 8, 16, 48, ""), False), (Shape("exact_odd", 1, 7, 23, 33, ""), True)):
            t = base_tensors(dtype, shape, x2_transposed=x2_t, exact=True)
            profile = "smoke" if ws == 2 and not x2_t else "signoff"
            cases.append(_case(f"{shape.name}-k{shape.k}n{shape.n}", dtype, ws, t, base_attrs(k=shape.k),
                               kind="exact", profile=profile,
                               covers=["MAR-NUM-003", "MAR-NUM-001"] + (["MAR-LAYOUT-002"] if x2_t else [])))
    return cases


def probe_cases() -> list[Case]:
    """Long-k accumulation probe: same-sign inputs over k = 4096 make every partial sum grow, so accumulating in
    fp16/bf16 errs by hundreds of roundings of the running sum, far past the bound of fp32 accumulation."""
    cases = []
    long_k = Shape("long_k", 1, 8, 4096, 64, "")
    for dtype, ws in itertools.product(DTYPES, (1, 8)):
        t = base_tensors(dtype, long_k)
        t["x1"] = replace(t["x1"], values="pos_unit")
        t["x2"] = replace(t["x2"], values="pos_rhs")
        cases.append(_case("long_k_same_sign-k4096", dtype, ws, t, base_attrs(k=long_k.k), kind="valid",
                           profile="signoff", covers=_numeric_covers(x2_transposed=False, with_bias=True)))
    return cases


def _mutations(dt: str, x1_3d: bool = True):
    """(name, constraint id, mutate(tensors, attrs)) on a `dt` base case with a 3-D or 2-D x1: one violation each."""
    T = TINY
    rows = (T.b, T.s) if x1_3d else (T.m,)  # output's leading dims
    other = "bfloat16" if dt == "float16" else "float16"
    set_t, set_a = set_tensor, set_attr
    m = [
        ("x1_1d", "MAR-SHAPE-001", set_t("x1", shape=(T.k,))),
        ("x1_4d", "MAR-SHAPE-001", set_t("x1", shape=(1, T.b, T.s, T.k))),
        ("x2_3d", "MAR-SHAPE-002", set_t("x2", shape=(1, T.k, T.n))),
        ("x2_1d", "MAR-SHAPE-002", set_t("x2", shape=(T.k,))),
        ("k_mismatch", "MAR-SHAPE-003", set_t("x2", shape=(T.k + 1, T.n))),
        ("bias_len", "MAR-SHAPE-004", set_t("bias", shape=(T.n + 1,))),
        ("bias_2d", "MAR-SHAPE-004", set_t("bias", shape=(1, T.n))),
        ("output_n", "MAR-SHAPE-005", set_t("output", shape=(*rows, T.n + 1))),
        ("output_rows", "MAR-SHAPE-005", set_t("output", shape=(*rows[:-1], rows[-1] + 1, T.n))),
        ("output_rank", "MAR-SHAPE-005", set_t("output", shape=(T.m, T.n) if x1_3d else (T.b, T.s, T.n))),
        ("all_fp32", "MAR-DTYPE-001", set_all_dtypes("float32")),
        ("all_int8", "MAR-DTYPE-001", set_all_dtypes("int8")),
        ("x1_strided", "MAR-LAYOUT-001", set_t("x1", layout=STRIDED)),
        ("x1_transposed", "MAR-LAYOUT-001", set_t("x1", layout=TRANSPOSED, shape=(*rows, T.k))),
        ("x2_strided", "MAR-LAYOUT-003", set_t("x2", layout=STRIDED)),
        ("x1_nz", "MAR-FORMAT-001", set_t("x1", format="FRACTAL_NZ")),
        ("x2_nz", "MAR-FORMAT-001", set_t("x2", format="FRACTAL_NZ")),
        ("reduce_max", "MAR-ATTR-001", set_a("reduceOp", "max")),
        ("reduce_sum_suffix", "MAR-ATTR-001", set_a("reduceOp", "sumx")),
        ("commturn_1", "MAR-ATTR-002", set_a("commTurn", 1)),
        ("commturn_2pow32", "MAR-ATTR-002", set_a("commTurn", 2**32)),  # not 0, but 0 in its low 32 bits
        ("streammode_0", "MAR-ATTR-003", set_a("streamMode", 0)),
        ("null_x1", "MAR-NULL-001", null("x1")),
        ("null_x2", "MAR-NULL-001", null("x2")),
        ("null_output", "MAR-NULL-001", null("output")),
    ]
    for name in ("x2", "bias", "output"):
        m.append((f"{name}_{dtypes.short(other)}", "MAR-DTYPE-002", set_t(name, dtype=other)))
    return m


SMOKE_INVALID = {"x1_1d", "k_mismatch", "null_x1", "all_fp32", "reduce_max", "output_n", "x1_strided"}


def invalid_cases() -> list[Case]:
    """Every rejection at both dtypes (the published binaries are keyed by dtype) and world sizes 2 and 8: a 3-D x1
    at the first and a 2-D one at the second, so that each rule is broken alone at both x1 ranks."""
    cases = []
    for dtype in DTYPES:
        for ws, x1_3d in ((2, True), (8, False)):
            suffix = "" if x1_3d else "-x1_2d"
            for name, cid, mutate in _mutations(dtype, x1_3d):
                t, a = base_tensors(dtype, TINY, x1_3d=x1_3d), base_attrs(k=TINY.k)
                mutate(t, a)
                smoke = name in SMOKE_INVALID and ws == 2 and dtype == "float16"
                cases.append(_case(f"{cid}-{name}{suffix}", dtype, ws, t, a, rejects=True, covers=[cid],
                                   kind="invalid", profile="smoke" if smoke else "signoff"))
        for ws, x1_3d in ((3, True), (6, False)):
            cases.append(_case(f"MAR-WORLD-001-world{ws}", dtype, ws, base_tensors(dtype, TINY, x1_3d=x1_3d),
                               base_attrs(k=TINY.k), rejects=True, covers=["MAR-WORLD-001"], kind="invalid",
                               profile="signoff"))
    return cases


_BOUND_ROWS = (("MAR-BOUND-001", "s", True), ("MAR-BOUND-002", "s", False), ("MAR-BOUND-003", "k", True),
               ("MAR-BOUND-003", "k", False), ("MAR-BOUND-004", "n", True), ("MAR-BOUND-004", "n", False))


def _bound_case(cid: str, dim: str, x1_3d: bool, value: int, ws: int, name: str, profile: str) -> Case:
    b, s, k, n = [value if dim == d else v for d, v in zip("bskn", (1, 4, 16, 32))]
    t = base_tensors("float16", Shape("bound", b, s, k, n, ""), x1_3d=x1_3d)
    rejects = value > INT32_MAX
    return _case(name, "float16", ws, t, base_attrs(k=16), rejects=rejects, covers=[cid],
                 kind="invalid" if rejects else "valid", profile=profile, shape_only=True)


def bound_cases() -> list[Case]:
    """INT32_MAX and INT32_MAX + 1 of every bound, validated from descriptors alone (no data is allocated)."""
    return [_bound_case(cid, dim, x1_3d, value, ws,
                        f"{cid}-{'over' if value > INT32_MAX else 'at'}_max{'' if x1_3d else '-x1_2d'}",
                        "smoke" if ws == 1 and cid == "MAR-BOUND-002" else "signoff")
            for cid, dim, x1_3d in _BOUND_ROWS for value in (INT32_MAX, INT32_MAX + 1) for ws in (1, 8)]


def all_cases() -> list[Case]:
    return valid_cases() + exact_cases() + probe_cases() + invalid_cases() + bound_cases()


# ---- for the fuzzer and the limits command ---------------------------------------------------------------------

def mutation_base(op: str, dtype: str) -> tuple[dict, dict]:
    """The valid tiny case (tensors, attrs) the invalid cases at `dtype` are mutated from."""
    return base_tensors(dtype, TINY), base_attrs(k=TINY.k)


def limit_cases() -> list[Case]:
    """Shape-only cases at INT32_MAX - 1, INT32_MAX and INT32_MAX + 1 of every bound."""
    return [_bound_case(cid, dim, x1_3d, value, 2, f"limit-{cid}-{value}", "smoke")
            for cid, dim, x1_3d in _BOUND_ROWS for value in (INT32_MAX - 1, INT32_MAX, INT32_MAX + 1)]


# ---- candidates for the path design (casegen/path_design.py): this operator's own decisions only ---------------

def path_candidates() -> list[Case]:
    """Small valid cases over both x2 layouts, dtypes and world sizes (the record's path_own_branches: "MAR-")."""
    cases = []
    for dtype, ws, x2_t in itertools.product(DTYPES, (1, 2), (False, True)):
        m, k, n = 16, 32, 64
        t = base_tensors(dtype, Shape("path", 1, m, k, n, "signoff"), x2_transposed=x2_t)
        cases.append(_case(f"path-m{m}k{k}n{n}-x2{'T' if x2_t else 'N'}", dtype, ws, t, base_attrs(k=k),
                           kind="valid", profile="signoff", params=(("mkn", (m, k, n)),),
                           covers=_numeric_covers(x2_transposed=x2_t, with_bias=True)))
    return cases
