"""Cases for MatmulAllReduceAddRmsNorm and its inplace variant, generated from a few shape families.

Valid cases expand over dtype x world size x x1 2-D/3-D x x2 plain/transposed x bias null/present, with
epsilon cycling through its values; invalid cases each start from a valid tiny case and break exactly one
constraint; exact cases use small integers so every sum is representable and y is known bit for bit.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from .. import dtypes, operators
from ..spec.marn import INPLACE_OP, OP
from ..spec.model import INT32_MAX
from . import marn_layers
from .model import CONTIGUOUS, STRIDED, TRANSPOSED, VALID_WORLD_SIZES, Case, Shape, TensorSpec
from .mutate import null, set_all_dtypes, set_attr, set_shapes, set_tensor

DTYPES = operators.get(OP).dtypes
OPS = (OP, INPLACE_OP)  # the pair, in catalogue order
RESIDUAL_LIKE = ("residual", "y", "normOut")  # tensors whose shape is residual's (b, s, n)
EPSILONS = (1e-6, 1e-2, 0.5)


TINY = Shape("tiny", 1, 4, 16, 32, "smoke")
ODD = Shape("odd", 3, 5, 37, 61, "signoff")  # no dimension a multiple of 16
MEDIUM = Shape("medium", 2, 64, 256, 384, "full")


MOVED_TO_FULL = ("in full, not signoff: its implementation paths are reached in signoff by path-designed cases at "
                 "a fraction of the cost (README: Implementation paths)")


def tp_layer(world_size: int) -> Shape:
    """MindSpeed's layer b,s,k,n = 4,1024,1024,8192 split row-parallel: each rank holds k / world_size."""
    return Shape("tp_layer", 4, 1024, 1024 // world_size, 8192, "signoff")


def writes_inplace(op: str) -> bool:
    """The inplace twin (y written into residual: no y argument), from its record."""
    return operators.get(op).writes_inplace


def inplace_covers(op: str) -> list[str]:
    """MARN-INPLACE-001 for a case of the inplace twin, nothing for the out-of-place operator."""
    return ["MARN-INPLACE-001"] if writes_inplace(op) else []


def base_tensors(op: str, dtype: str, shape: Shape, *, x1_3d: bool = True, x2_transposed: bool = False,
                 with_bias: bool = True, exact: bool = False) -> dict[str, TensorSpec | None]:
    b, s, k, n, m = shape.b, shape.s, shape.k, shape.n, shape.m
    vals = {"x1": "int:-1:1", "x2": "int:-1:1", "bias": "int:-2:2", "residual": "int:-4:4", "gamma": "gain"} \
        if exact else {"x1": "unit", "x2": "rhs", "bias": "bias", "residual": "unit", "gamma": "gain"}
    t: dict[str, TensorSpec | None] = {
        "x1": TensorSpec(dtype, (b, s, k) if x1_3d else (m, k), vals["x1"]),
        "x2": TensorSpec(dtype, (k, n), vals["x2"], TRANSPOSED if x2_transposed else CONTIGUOUS),
        "bias": TensorSpec(dtype, (n,), vals["bias"]) if with_bias else None,
        "residual": TensorSpec(dtype, (b, s, n), vals["residual"]),
        "gamma": TensorSpec(dtype, (n,), vals["gamma"]),
    }
    if not writes_inplace(op):
        t["y"] = TensorSpec(dtype, (b, s, n), "output")
    t["normOut"] = TensorSpec(dtype, (b, s, n), "output")
    return t


def base_attrs(*, epsilon: float = 1e-6, k: int = 1) -> dict:
    return {"epsilon": epsilon, "reduceOp": "sum", "commTurn": 0, "streamMode": 1, "_k": k}


def _case(op, name, dtype, world_size, tensors, attrs, *, rejects=False, covers, kind, profile, shape_only=False,
          notes="", params=()):
    cid = f"{operators.get(op).short}-{name}-{dtypes.short(dtype)}-w{world_size}"
    return Case(id=cid, op=op, world_size=world_size, tensors=tuple(tensors.items()), attrs=tuple(attrs.items()),
                rejects=rejects, covers=tuple(covers), kind=kind, profile=profile, shape_only=shape_only,
                dtype=dtype, notes=notes, params=tuple(params))


def _numeric_covers(op, *, x2_transposed, with_bias, epsilon_edge=False):
    covers = ["MARN-NUM-001", "MARN-NUM-002", "MARN-NUM-003", "MARN-NUM-004"]
    if x2_transposed:
        covers.append("MARN-LAYOUT-002")
    if not with_bias:
        covers.append("MARN-NULL-003")
    covers += inplace_covers(op)
    if epsilon_edge:
        covers.append("MARN-ATTR-004")
    return covers


def valid_cases() -> list[Case]:
    cases = []
    for op in OPS:
        for dtype, ws in itertools.product(DTYPES, VALID_WORLD_SIZES):
            # every layout combination on the small shapes; epsilon cycles with the combination so each
            # value meets every layout across shapes (and the canonical 3-D/plain/bias case gets 1e-6)
            for shape_index, shape in enumerate((TINY, ODD, MEDIUM)):
                for x1_3d, x2_t, bias in itertools.product((True, False), repeat=3):
                    eps = EPSILONS[(shape_index + 4 * (not x1_3d) + 2 * x2_t + (not bias)) % len(EPSILONS)]
                    profile = shape.profile
                    if shape is TINY and profile == "smoke" and not (ws <= 2 and x1_3d and not x2_t and bias):
                        profile = "signoff"
                    if writes_inplace(op) and profile == "smoke" and ws != 2:
                        profile = "signoff"
                    name = (f"{shape.name}-x1_{'3d' if x1_3d else '2d'}-x2{'T' if x2_t else 'N'}"
                            f"-{'bias' if bias else 'nobias'}-eps{eps:g}")
                    t = base_tensors(op, dtype, shape, x1_3d=x1_3d, x2_transposed=x2_t, with_bias=bias)
                    cases.append(_case(op, name, dtype, ws, t, base_attrs(epsilon=eps, k=shape.k),
                                       covers=_numeric_covers(op, x2_transposed=x2_t, with_bias=bias),
                                       kind="valid", profile=profile))
            # the realistic tensor-parallel layer: in `full` (heavy: 2^25 output elements per rank). Signoff reaches
            # every implementation path it takes with the path-designed cases at a fraction of its cost
            # (tests/test_path_design.py checks that); the LLM decode layers (llm_layers.py) are signoff's real shapes
            layer = tp_layer(ws)
            t = base_tensors(op, dtype, layer, x1_3d=True, x2_transposed=(ws % 4 == 0), with_bias=True)
            cases.append(_case(op, f"tp_layer-b4s1024k{layer.k}n8192", dtype, ws, t,
                               base_attrs(k=layer.k), kind="valid",
                               covers=_numeric_covers(op, x2_transposed=(ws % 4 == 0), with_bias=True),
                               profile="full", notes=MOVED_TO_FULL))
            # epsilon just inside both ends of (0, 1)
            for eps in (1e-12, 0.999999):
                t = base_tensors(op, dtype, TINY)
                cases.append(_case(op, f"tiny-eps{eps:g}", dtype, ws, t, base_attrs(epsilon=eps, k=TINY.k),
                                   kind="valid", profile="signoff",
                                   covers=_numeric_covers(op, x2_transposed=False, with_bias=True,
                                                          epsilon_edge=True)))
            # empty b*s (3-D and 2-D x1) and empty n
            for name, shape, x1_3d, cid in (("empty_bs-x1_3d", Shape("e", 0, 4, 16, 32, ""), True, "MARN-EMPTY-001"),
                                            ("empty_m-x1_2d", Shape("e", 1, 0, 16, 32, ""), False, "MARN-EMPTY-001"),
                                            ("empty_n", Shape("e", 1, 4, 16, 0, ""), True, "MARN-EMPTY-002")):
                t = base_tensors(op, dtype, shape, x1_3d=x1_3d)
                cases.append(_case(op, name, dtype, ws, t, base_attrs(k=16), kind="valid",
                                   covers=[cid] + inplace_covers(op),
                                   profile="signoff"))
    return cases


def exact_cases() -> list[Case]:
    """nccl-tests' verifiable mode: x1, x2 in {-1,0,1}, bias in [-2,2], residual in [-4,4]; with k <= 24 every
    partial sum is an integer of magnitude <= 8 * (24 + 2) + 4 = 212 < 256, exact in bf16 and fp16 in any
    order and at any rounding point, so y must match bit for bit."""
    cases = []
    for op, dtype, ws in itertools.product(OPS, DTYPES, VALID_WORLD_SIZES):
        for shape, x2_t in ((Shape("exact", 2, 8, 16, 48, ""), False), (Shape("exact_odd", 1, 7, 23, 33, ""), True)):
            t = base_tensors(op, dtype, shape, x2_transposed=x2_t, exact=True)
            profile = "smoke" if (not writes_inplace(op) and ws == 2 and not x2_t) else "signoff"
            cases.append(_case(op, f"{shape.name}-k{shape.k}n{shape.n}", dtype, ws, t, base_attrs(k=shape.k),
                               kind="exact", profile=profile,
                               covers=["MARN-NUM-005", "MARN-NUM-001", "MARN-NUM-002"]
                               + inplace_covers(op)))
    return cases


def probe_cases() -> list[Case]:
    """Cases aimed at one rounding point each.

    bf16 rounding-point probe. x1 = 0, so mm_out is the sum of the biases, 6 * 2^-11 in columns 1.., and
    x = mm_out + residual = 1 + 6 * 2^-11 there (exact in fp32, 0.375 ulp above 1, 0.125 ulp below the bf16
    tie), with column 0 = 10.75 dominating the RMS, gamma = 1. y (= 1) is known bit for bit on every path. normOut
    is not: from the fp32 x, x * rstd lies 0.29 ulp from the nearest bf16 tie, from the rounded y one ulp lower,
    and the published kernel takes either path depending on the AddRmsNorm tiling mode (device-facts 3), so the
    probe asserts y exactly and normOut only within the bound that admits both paths. Bias per rank is
    6 * 2^-11 / W: the sum is exact at every W.

    Long-k accumulation probe: same-sign inputs over k = 4096 make every partial sum grow, so accumulating in
    fp16/bf16 errs by hundreds of roundings of the running sum, far past the bound of fp32 accumulation."""
    cases = []
    probe = Shape("probe", 2, 4, 16, 32, "")
    for op, ws in itertools.product(OPS, VALID_WORLD_SIZES):
        t = base_tensors(op, "bfloat16", probe)
        t["x1"] = replace(t["x1"], values="const:0")
        t["bias"] = replace(t["bias"], values="probe_bias")
        t["residual"] = replace(t["residual"], values="probe_residual")
        t["gamma"] = replace(t["gamma"], values="const:1")
        cases.append(_case(op, "exact_bf16_rounding_probe", "bfloat16", ws, t, base_attrs(k=16),
                           kind="exact", profile="signoff", params=(("exact_outputs", ("y",)),),
                           covers=["MARN-NUM-003", "MARN-NUM-005"]
                           + inplace_covers(op)))
    long_k = Shape("long_k", 1, 8, 4096, 64, "")
    for dtype, ws in itertools.product(DTYPES, (1, 8)):
        t = base_tensors(OP, dtype, long_k)
        t["x1"] = replace(t["x1"], values="pos_unit")
        t["x2"] = replace(t["x2"], values="pos_rhs")
        cases.append(_case(OP, "long_k_same_sign-k4096", dtype, ws, t, base_attrs(k=long_k.k),
                           kind="valid", profile="signoff",
                           covers=_numeric_covers(OP, x2_transposed=False, with_bias=True)))
    return cases


def _mutations(op: str, dt: str):
    """(name, constraint id, mutate(tensors, attrs) -> None, dtype) on a `dt` base case. One violation each.
    The expected outcome (which codes and phases) is the constraint's, from the catalogue."""
    T = TINY
    other = "bfloat16" if dt == "float16" else "float16"

    set_t, set_a = set_tensor, set_attr

    def outs_like_residual(shape):
        return set_shapes(RESIDUAL_LIKE, shape)

    def k_zero(t, a):
        t["x1"] = replace(t["x1"], shape=(T.b, T.s, 0))
        t["x2"] = replace(t["x2"], shape=(0, T.n))

    m = [
        ("x1_1d", "MARN-SHAPE-001", set_t("x1", shape=(T.k,))),
        ("x1_4d", "MARN-SHAPE-001", set_t("x1", shape=(1, T.b, T.s, T.k))),
        ("x2_3d", "MARN-SHAPE-002", set_t("x2", shape=(1, T.k, T.n))),
        ("x2_1d", "MARN-SHAPE-002", set_t("x2", shape=(T.k,))),
        ("k_mismatch", "MARN-SHAPE-003", set_t("x2", shape=(T.k + 1, T.n))),
        ("bias_len", "MARN-SHAPE-004", set_t("bias", shape=(T.n + 1,))),
        ("bias_2d", "MARN-SHAPE-004", set_t("bias", shape=(1, T.n))),
        ("residual_2d", "MARN-SHAPE-005", outs_like_residual((T.m, T.n))),
        ("residual_4d", "MARN-SHAPE-005", outs_like_residual((1, T.b, T.s, T.n))),
        ("residual_bs", "MARN-SHAPE-006", outs_like_residual((T.b, T.s + 1, T.n))),
        ("residual_n", "MARN-SHAPE-007", outs_like_residual((T.b, T.s, T.n + 1))),
        ("gamma_len", "MARN-SHAPE-008", set_t("gamma", shape=(T.n + 1,))),
        ("gamma_2d", "MARN-SHAPE-008", set_t("gamma", shape=(1, T.n))),
        ("normOut_shape", "MARN-OUT-002", set_t("normOut", shape=(T.b, T.s, T.n + 1))),
        ("all_fp32", "MARN-DTYPE-001", set_all_dtypes("float32")),
        ("all_int8", "MARN-DTYPE-001", set_all_dtypes("int8")),
        ("x1_strided", "MARN-LAYOUT-001", set_t("x1", layout=STRIDED)),
        ("x1_transposed", "MARN-LAYOUT-001", set_t("x1", layout=TRANSPOSED, shape=(T.b, T.s, T.k))),
        ("x2_strided", "MARN-LAYOUT-003", set_t("x2", layout=STRIDED)),
        ("residual_strided", "MARN-LAYOUT-004", set_t("residual", layout=STRIDED)),
        ("gamma_strided", "MARN-LAYOUT-005", set_t("gamma", layout=STRIDED)),
        ("x1_nz", "MARN-FORMAT-001", set_t("x1", format="FRACTAL_NZ")),
        ("x2_nz", "MARN-FORMAT-001", set_t("x2", format="FRACTAL_NZ")),
        ("bias_nz", "MARN-FORMAT-001", set_t("bias", format="FRACTAL_NZ")),
        ("reduce_max", "MARN-ATTR-001", set_a("reduceOp", "max")),
        ("reduce_prod", "MARN-ATTR-001", set_a("reduceOp", "prod")),
        ("commturn_1", "MARN-ATTR-002", set_a("commTurn", 1)),
        ("commturn_neg", "MARN-ATTR-002", set_a("commTurn", -1)),
        ("streammode_0", "MARN-ATTR-003", set_a("streamMode", 0)),
        ("streammode_2", "MARN-ATTR-003", set_a("streamMode", 2)),
        ("eps_0", "MARN-ATTR-004", set_a("epsilon", 0.0)),
        ("eps_1", "MARN-ATTR-004", set_a("epsilon", 1.0)),
        ("eps_neg", "MARN-ATTR-004", set_a("epsilon", -1e-6)),
        ("eps_1.5", "MARN-ATTR-004", set_a("epsilon", 1.5)),
        ("empty_k", "MARN-EMPTY-003", k_zero),
        ("null_x1", "MARN-NULL-001", null("x1")),
        ("null_x2", "MARN-NULL-001", null("x2")),
        ("null_residual", "MARN-NULL-001", null("residual")),
        ("null_gamma", "MARN-NULL-001", null("gamma")),
        ("null_normOut", "MARN-NULL-002", null("normOut")),
    ]
    for name in ("x1", "x2", "bias", "residual", "gamma", "normOut") + (() if writes_inplace(op) else ("y",)):
        m.append((f"{name}_{dtypes.short(other)}", "MARN-DTYPE-002", set_t(name, dtype=other)))
    if not writes_inplace(op):
        m += [("y_shape", "MARN-OUT-001", set_t("y", shape=(T.b, T.s, T.n + 1))),
              ("y_2d", "MARN-OUT-001", set_t("y", shape=(T.m, T.n))),
              ("null_y", "MARN-NULL-002", null("y"))]
    return [(name, cid, fn, dt) for name, cid, fn in m]


def invalid_cases() -> list[Case]:
    cases = []
    smoke_names = {"x1_1d", "k_mismatch", "null_x1", "all_fp32", "reduce_max", "eps_0", "empty_k", "x1_strided"}
    # every rejection at both dtypes: the published binaries are keyed by dtype, so validation can differ
    for op, base_dtype in itertools.product(OPS, DTYPES):
        for name, cid, mutate, dtype in _mutations(op, base_dtype):
            for ws in VALID_WORLD_SIZES:
                t = base_tensors(op, dtype, TINY)
                a = base_attrs(k=TINY.k)
                mutate(t, a)
                smoke = name in smoke_names and ws == 2 and not writes_inplace(op) and dtype == "float16"
                profile = "smoke" if smoke else "signoff"
                cases.append(_case(op, f"{cid}-{name}", dtype, ws, t, a, rejects=True, covers=[cid],
                                   kind="invalid", profile=profile))
        for ws in (3, 6):
            t = base_tensors(op, base_dtype, TINY)
            cases.append(_case(op, f"MARN-WORLD-001-world{ws}", base_dtype, ws, t, base_attrs(k=TINY.k),
                               rejects=True, covers=["MARN-WORLD-001"], kind="invalid", profile="signoff"))
    return cases


def bound_cases() -> list[Case]:
    """INT32_MAX bounds, validated from descriptors alone (no data is ever allocated)."""
    big = 2**31
    cases = []

    def tensors(op, *, b, s, k, n, x1_3d):
        return base_tensors(op, "float16", Shape("bound", b, s, k, n, ""), x1_3d=x1_3d)

    rows = [  # (name, constraint, rejects, b, s, k, n, x1_3d)
        ("bs_at_max", "MARN-BOUND-001", False, 1, INT32_MAX, 16, 32, True),
        ("bs_over_max", "MARN-BOUND-001", True, 2, big // 2, 16, 32, True),
        ("m_at_max", "MARN-BOUND-002", False, 1, INT32_MAX, 16, 32, False),
        ("m_over_max", "MARN-BOUND-002", True, 1, big, 16, 32, False),
        ("k_at_max", "MARN-BOUND-003", False, 1, 4, INT32_MAX, 32, True),
        ("k_over_max", "MARN-BOUND-003", True, 1, 4, big, 32, True),
        ("n_at_max", "MARN-BOUND-004", False, 1, 4, 16, INT32_MAX, True),
        ("n_over_max", "MARN-BOUND-004", True, 1, 4, 16, big, True),
    ]
    for op in OPS:
        for name, cid, rejects, b, s, k, n, x1_3d in rows:
            for ws in VALID_WORLD_SIZES:
                profile = "smoke" if (not writes_inplace(op) and ws == 1 and cid == "MARN-BOUND-002") else "signoff"
                cases.append(_case(op, f"{cid}-{name}", "float16", ws,
                                   tensors(op, b=b, s=s, k=k, n=n, x1_3d=x1_3d), base_attrs(k=16),
                                   rejects=rejects, covers=[cid], kind="invalid" if rejects else "valid",
                                   profile=profile, shape_only=True))
    return cases


def all_cases() -> list[Case]:
    return valid_cases() + exact_cases() + probe_cases() + invalid_cases() + bound_cases() + marn_layers.layer_cases(
        tensors=base_tensors, attrs=base_attrs, case=_case, covers=_numeric_covers)  # the LLM layers


# ---- for the fuzzer (conformance/fuzz/strategies.py) -----------------------------------------------------------

def mutation_base(op: str, dtype: str) -> tuple[dict, dict]:
    """The valid tiny case (tensors, attrs) the invalid cases of `op` at `dtype` are mutated from."""
    return base_tensors(op, dtype, TINY), base_attrs(k=TINY.k)


def limit_cases() -> list[Case]:
    """Shape-only cases at INT32_MAX - 1, INT32_MAX and INT32_MAX + 1 of every bound, both operators."""
    out = []
    i32 = INT32_MAX
    for op in OPS:
        for cid, dim, x1_3d in (("MARN-BOUND-001", "s", True), ("MARN-BOUND-002", "s", False),
                                ("MARN-BOUND-003", "k", True), ("MARN-BOUND-004", "n", True)):
            for value in (i32 - 1, i32, i32 + 1):
                b, s, k, n = 1, 4, 16, 32
                b, s, k, n = [value if dim == d else v for d, v in zip("bskn", (b, s, k, n))]
                t = base_tensors(op, "float16", Shape("limit", b, s, k, n, ""), x1_3d=x1_3d)
                rejects = value > i32
                out.append(_case(op, f"limit-{cid}-{value}", "float16", 2, t, base_attrs(k=16),
                                 rejects=rejects, covers=[cid], kind="invalid" if rejects else "valid",
                                 profile="smoke", shape_only=True))
    return out


# ---- candidates for the path design (casegen/path_design.py) ---------------------------------------------------
# rows around the AddRmsNorm mode and base-block thresholds of both platforms (48/40 vector cores, 24/20 cube cores,
# 128-row base blocks) and up to several communication turns; columns from one block to rows too long for one UB pass
PATH_ROWS = (1, 2, 7, 16, 20, 21, 24, 25, 40, 41, 48, 49, 80, 96, 97, 128, 129, 256, 257, 384, 512, 1024, 2048, 3072,
             4096, 6144, 8192)
PATH_COLS = (16, 32, 61, 128, 256, 1000, 1024, 2048, 4096, 8192, 12288, 16384)
PATH_KS = (16, 512, 4096)


# shapes the path models' readings found for their rarer sides (m, k, n, world size, dtype, x2 transposed, bias):
# the communication cut's refinements (sim/cann/comm_tiling.py) and the matmul's per-turn tiling (marn_paths.py)
PATH_SHAPES = (
    (4096, 6144, 2048, 2, "float16", False, True), (2069, 6144, 2048, 2, "float16", False, True),
    (8192, 4096, 4096, 2, "float16", False, True), (1024, 8192, 1536, 2, "float16", False, True),
    (1, 100, 16, 1, "float16", False, False), (1, 16, 100, 1, "float16", False, False),
    (4480, 1000, 2048, 1, "float16", False, False), (4480, 1000, 2048, 1, "float16", True, False),
    (3072, 3584, 1000, 1, "float16", False, False), (40, 16, 16, 1, "float16", True, False),
    (128, 16, 3840, 1, "float16", False, False), (1500, 4096, 2048, 1, "float16", False, False),
    (1000, 1280, 8192, 1, "float16", False, False), (1, 256, 8192, 1, "float16", False, True),
    (2112, 6656, 8192, 2, "bfloat16", False, True), (2048, 8192, 1000, 4, "float16", False, False),
    (384, 8192, 4096, 2, "bfloat16", True, False), (5000, 16, 10864, 1, "float16", False, False),
    (128, 4096, 12289, 1, "float16", False, False), (1000, 4096, 10864, 1, "float16", False, False),
    (672, 4096, 12288, 1, "float16", False, False), (1000, 16384, 1000, 1, "float16", True, False),
    (4096, 1280, 2048, 1, "float16", True, False), (1, 16, 12289, 1, "float16", False, False),
    (48, 16, 10864, 1, "float16", False, False), (48, 16, 2048, 1, "float16", False, False),
    (2048, 1280, 3840, 1, "float16", False, False), (1000, 1000, 12289, 1, "float16", False, False),
    (1000, 1000, 16384, 1, "float16", False, False), (1000, 1000, 10864, 1, "float16", False, False),
    (1073, 1280, 3840, 1, "float16", True, False), (1664, 3584, 8192, 2, "bfloat16", True, False),
    # cheaper ones found by a search of the model over m, k, n, world 1-2, dtypes, layouts and bias
    (2112, 6144, 8192, 1, "float16", False, True), (2112, 6144, 10240, 1, "float16", False, True),
    (779, 12288, 3840, 1, "float16", False, True), (391, 16384, 3840, 1, "float16", False, True),
    (294, 16384, 3072, 1, "float16", False, True), (1664, 3584, 8192, 1, "float16", True, False),
    (3107, 6144, 2048, 1, "float16", False, True), (3107, 8192, 2048, 1, "float16", False, True),
    (3204, 6656, 2048, 1, "float16", False, True), (2622, 6144, 2048, 1, "float16", False, True),
    (384, 16384, 2048, 1, "float16", True, False), (384, 16384, 2048, 1, "float16", False, True),
)


def _path_case(op: str, dtype: str, ws: int, m: int, k: int, n: int, x2_t: bool, bias: bool) -> Case:
    shape = Shape("path", 1, m, k, n, "signoff")
    t = base_tensors(op, dtype, shape, x1_3d=True, x2_transposed=x2_t, with_bias=bias)
    return _case(op, f"path-m{m}k{k}n{n}-x2{'T' if x2_t else 'N'}{'' if bias else '-nobias'}", dtype, ws, t,
                 base_attrs(k=k), kind="valid", profile="signoff", params=(("mkn", (m, k, n)),),
                 covers=_numeric_covers(op, x2_transposed=x2_t, with_bias=bias))


def path_candidates() -> list[Case]:
    """Valid cases over the path-design grid and PATH_SHAPES, both operators (casegen/path_design.py picks from
    them); each shape of PATH_SHAPES also at the other dtype."""
    cases = []
    for op, (m, k, n, ws, dtype, x2_t, bias) in itertools.product(OPS, PATH_SHAPES):
        for dt in (dtype, next(d for d in DTYPES if d != dtype)):
            cases.append(_path_case(op, dt, ws, m, k, n, x2_t, bias))
    for op, dtype, ws, m, n, k, x2_t in itertools.product(OPS, DTYPES, VALID_WORLD_SIZES, PATH_ROWS, PATH_COLS,
                                                          PATH_KS, (False, True)):
        if k > 512 and m * n > 2**23:
            continue  # a large k is for the turn cost of medium outputs only
        cases.append(_path_case(op, dtype, ws, m, k, n, x2_t, True))
    return cases
