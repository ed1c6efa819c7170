"""Cases added by the case-design rules (tests/test_case_design.py) and by mutation testing (bench/mutation.py).

- Rank: every rejection of marn._mutations / v3._mutations also from a 2-D x1 base (the catalogue's invalid
  cases start from a 3-D x1), so each rule is shown to fire alone at both x1 ranks it applies to; plus the
  bounds only seen at one rank (MARN k and n over INT32_MAX with a 2-D x1, V3 m over INT32_MAX with a 3-D x1).
- Orientation: the (n, 1)-like shapes the (n)/(1, n) rules reject (MARN bias and gamma (n, 1); V3 bias (n, 1),
  dequantScale (n, 1), pertokenScale (1, m), comm scales (n, 1)).
- Rounding probes: exact cases whose one inexact rounding step is (non_tie) or is not (tie) at a tie of the
  output dtype, so round-to-nearest-even, truncation and round-half-away give different bits (see
  `probe_cases`).
Each invalid case starts from a valid TINY case and breaks exactly one constraint (tests/test_casegen.py).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from . import marn, v3
from .model import VALID_WORLD_SIZES, Case, TensorSpec
from .mutate import all_of, set_tensor

# mutations about x1's rank itself, or written for a 3-D x1 (replaced below by their 2-D form)
_MARN_RANK_SPECIFIC = {"x1_1d", "x1_4d", "x1_transposed", "empty_k"}
_V3_RANK_SPECIFIC = {"x1_1d", "x1_4d", "output_2d_for_3d_x1", "empty_m", "empty_k", "empty_n", "k65536",
                     "x1_transposed", "output_shape", "x3_shape", "n65536_x2N"}


def _marn_2d_mutations(op, dt):
    T = marn.TINY
    from .model import TRANSPOSED

    def k_zero(t, a):
        t["x1"] = replace(t["x1"], shape=(T.m, 0))
        t["x2"] = replace(t["x2"], shape=(0, T.n))

    extra = [("x1_transposed", "MARN-LAYOUT-001", set_tensor("x1", layout=TRANSPOSED, shape=(T.m, T.k))),
             ("empty_k", "MARN-EMPTY-003", k_zero)]
    base = [(n, c, f) for n, c, f, _ in marn._mutations(op, dt) if n not in _MARN_RANK_SPECIFIC]
    return base + extra


def marn_rank_cases() -> list[Case]:
    cases = []
    for op, dt in itertools.product(marn.OPS, marn.DTYPES):
        for name, cid, mutate in _marn_2d_mutations(op, dt):
            for ws in VALID_WORLD_SIZES:
                t = marn.base_tensors(op, dt, marn.TINY, x1_3d=False)
                a = marn.base_attrs(k=marn.TINY.k)
                mutate(t, a)
                cases.append(marn._case(op, f"{cid}-{name}-x1_2d", dt, ws, t, a, rejects=True, covers=[cid],
                                        kind="invalid", profile="signoff"))
        for ws in (3, 6):
            cases.append(marn._case(op, f"MARN-WORLD-001-world{ws}-x1_2d", dt, ws,
                                    marn.base_tensors(op, dt, marn.TINY, x1_3d=False),
                                    marn.base_attrs(k=marn.TINY.k), rejects=True, covers=["MARN-WORLD-001"],
                                    kind="invalid", profile="signoff"))
    # k and n over INT32_MAX with a 2-D x1 (marn.bound_cases has them with a 3-D x1)
    big = 2**31
    for op, (name, cid, k, n) in itertools.product(marn.OPS,
                                                   (("k_over_max", "MARN-BOUND-003", big, 32),
                                                    ("n_over_max", "MARN-BOUND-004", 16, big))):
        for ws in VALID_WORLD_SIZES:
            t = marn.base_tensors(op, "float16", marn.Shape("bound", 1, 4, k, n, ""), x1_3d=False)
            cases.append(marn._case(op, f"{cid}-{name}-x1_2d", "float16", ws, t, marn.base_attrs(k=16),
                                    rejects=True, covers=[cid], kind="invalid", profile="signoff",
                                    shape_only=True))
    return cases


def _v3_2d_mutations(row):
    T = v3.TINY
    from .model import TRANSPOSED

    def x3_like(**changes):
        def f(t, a):
            base = t.get("x3") or TensorSpec(t["output"].dtype, t["output"].shape, "unit")
            t["x3"] = replace(base, **changes)
        return f

    def set_if(name, **changes):
        def f(t, a):
            if t.get(name) is not None:
                t[name] = replace(t[name], **changes)
        return f

    extra = [
        ("output_3d_for_2d_x1", "V3-SHAPE-009", all_of(set_tensor("output", shape=(T.b, T.s, T.n)),
                                                       set_if("x3", shape=(T.b, T.s, T.n)))),
        ("output_shape", "V3-SHAPE-009", all_of(set_tensor("output", shape=(T.m, T.n + 1)),
                                                set_if("x3", shape=(T.m, T.n + 1)))),
        ("x3_shape", "V3-SHAPE-006", x3_like(shape=(T.m, T.n + 1))),
        ("x1_transposed", "V3-LAYOUT-001", set_tensor("x1", layout=TRANSPOSED)),
        ("empty_m", "V3-EMPTY-001", all_of(set_tensor("x1", shape=(0, T.k)), set_if("x3", shape=(0, T.n)),
                                           set_tensor("output", shape=(0, T.n)),
                                           set_tensor("pertokenScale", shape=(0,)))),
        ("empty_k", "V3-EMPTY-001", all_of(set_tensor("x1", shape=(T.m, 0)), set_tensor("x2", shape=(0, T.n)))),
        ("empty_n", "V3-EMPTY-001", all_of(*[set_tensor(nm, shape=sh) for nm, sh in (
            ("x2", (T.k, 0)), ("bias", (0,)), ("output", (T.m, 0)), ("dequantScale", (0,)),
            ("commQuantScale1", (0,)), ("commQuantScale2", (0,)))], set_if("x3", shape=(T.m, 0)))),
        ("k65536", "V3-BOUND-002", all_of(set_tensor("x1", shape=(2, 65536)), set_tensor("x2", shape=(65536, T.n)),
                                          set_if("x3", shape=(2, T.n)), set_tensor("output", shape=(2, T.n)),
                                          set_tensor("pertokenScale", shape=(2,)))),
        ("n65536_x2N", "V3-BOUND-003", all_of(*[set_tensor(nm, shape=sh) for nm, sh in (
            ("x2", (T.k, 65536)), ("bias", (65536,)), ("output", (T.m, 65536)),
            ("dequantScale", (65536,)), ("commQuantScale1", (65536,)), ("commQuantScale2", (65536,)))],
            set_if("x3", shape=(T.m, 65536)))),
    ]
    base = [(n, c, f) for n, c, f in v3._mutations(row) if n not in _V3_RANK_SPECIFIC]
    return base + extra


def v3_rank_cases() -> list[Case]:
    cases = []
    for base_row in v3.BASE_ROWS:
        for name, cid, mutate in _v3_2d_mutations(base_row):
            for ws in VALID_WORLD_SIZES:
                t = v3.tensors(base_row, v3.TINY, x1_3d=False, lowbit=True)
                a = v3.attrs(v3.TINY.k)
                mutate(t, a)
                cases.append(v3._case(f"{cid}-{name}-x1_2d", base_row.out, ws, t, a, rejects=True, covers=[cid],
                                      kind="invalid", profile="signoff",
                                      shape_only=name in v3.DESCRIPTORS_ONLY))
        for ws in (3, 6):
            cases.append(v3._case("V3-WORLD-001-world-x1_2d", base_row.out, ws,
                                  v3.tensors(base_row, v3.TINY, x1_3d=False), v3.attrs(v3.TINY.k), rejects=True,
                                  covers=["V3-WORLD-001"], kind="invalid", profile="signoff"))
    for name, row, cid, mutate in v3._pairing_mutations():
        for ws in VALID_WORLD_SIZES:
            t = v3.tensors(row, v3.TINY, x1_3d=False)
            a = v3.attrs(v3.TINY.k)
            mutate(t, a)
            cases.append(v3._case(f"{cid}-{name}-x1_2d", row.out, ws, t, a, rejects=True, covers=[cid],
                                  kind="invalid", profile="signoff"))
    # m over INT32_MAX with a 3-D x1 (v3.invalid_cases has it with a 2-D x1): b*s = 2 * 2**30
    for base_row, ws in itertools.product(v3.BASE_ROWS, VALID_WORLD_SIZES):
        t = v3.tensors(base_row, v3.Shape("bound", 2, 2**30, 16, 32), x1_3d=True)
        cases.append(v3._case("V3-BOUND-001-bs_over_max-x1_3d", base_row.out, ws, t, v3.attrs(16), rejects=True,
                              covers=["V3-BOUND-001"], kind="invalid", profile="signoff", shape_only=True))
    return cases


# (tensor, constraint, rejected shape from the TINY shape) for the orientation rule, per operator family
def orientation_cases() -> list[Case]:
    M, V = marn.TINY, v3.TINY
    cases = []
    for name, cid, shape in (("bias", "MARN-SHAPE-004", (M.n, 1)), ("gamma", "MARN-SHAPE-008", (M.n, 1))):
        label = f"{name}_{'x'.join(map(str, shape))}"
        for op, dt, ws in itertools.product(marn.OPS, marn.DTYPES, VALID_WORLD_SIZES):
            t = marn.base_tensors(op, dt, marn.TINY)
            t[name] = replace(t[name], shape=shape)
            cases.append(marn._case(op, f"{cid}-{label}", dt, ws, t, marn.base_attrs(k=marn.TINY.k),
                                    rejects=True, covers=[cid], kind="invalid", profile="signoff"))
    for name, cid, shape in (("bias", "V3-SHAPE-005", (V.n, 1)), ("dequantScale", "V3-SHAPE-007", (V.n, 1)),
                             ("pertokenScale", "V3-SHAPE-008", (1, V.m)),
                             ("commQuantScale1", "V3-COMM-002", (V.n, 1))):
        label = f"{name}_{'x'.join(map(str, shape))}"
        for row, ws in itertools.product(v3.BASE_ROWS, VALID_WORLD_SIZES):
            t = v3.tensors(row, v3.TINY, lowbit=True)
            names = ("commQuantScale1", "commQuantScale2") if name.startswith("comm") else (name,)
            for nm in names:
                t[nm] = replace(t[nm], shape=shape)
            cases.append(v3._case(f"{cid}-{label}", row.out, ws, t, v3.attrs(v3.TINY.k), rejects=True,
                                  covers=[cid], kind="invalid", profile="signoff"))
    return cases


# ---- rounding probes (docs/rounding-probes.md) ----------------------------------------------------------------------
# Each probe is an exact case with tiny shapes (world 1, or 2 for the all-reduce stores) whose inputs make ONE named
# rounding step inexact; every other step is exact, or (the fp32 rstd, the low-bit fp32 ratio) inexact with at
# least 0.1 ulp of room at every later rounding, so no rounding mode of it can show. The reference (one rounding, half
# to even) then gives the bits of the correct device, and the step rounded any other way gives other bits:
# - non_tie: the step's exact value lies 0.25 ulp from its nearest neighbour, 0.75 ulp from the other (or, for
#   norm_store, somewhere in between with >= 0.1 ulp of room): truncation lands on the other neighbour;
#   round-half-away agrees with half-even off a tie, so only the tie probes tell those two apart.
# - tie: the exact value lies on a tie whose lower neighbour is even: half-even (and truncation) go down,
#   half-away goes up. Only where the source states the step's tie rule (CAST_RINT, or CAST_NONE, which AscendC
#   documents as half-even); an fp16 vector Add or Mul (the MARN y and gamma stores, V3's fp16 dequant) states
#   none, so any tie rule of a correct device passes there and no tie probe is made.
# The expected bits per rounding mode are worked by hand in tests/test_rounding_probes.py. The steps of the two
# existing tables (MARN_Y_PROBES, V3_INT8_PROBES) keep their names "y_store" and "int8_cast".
#
# MARN y store (x1 = 0, so the reduced matmul is the bias exactly; y = bias + residual, stored in the output
# dtype): fp16 128 + 0.09375 (ulp 0.125) -> 128.125 to nearest, 128 truncated; bf16 128 + 0.75 (ulp 1) -> 129 /
# 128 (below 256: tests/test_casegen's bound on exact MARN cases).
# Both lie 0.25 ulp from the tie, so tests/test_casegen's room check (>= 0.1 ulp) holds.
# Tie: bf16 128 + 0.5 = 128.5, exactly between 128 and 129 (every step before the store is exact, so every
# correct path meets the tie itself): half-even 128, half-away 129. The bf16 y store is a cast with
# RoundMode::CAST_RINT, round half to even (hicann/ops-transformer c29bc10,
# mc2/matmul_all_reduce_add_rms_norm/op_kernel/add_rms_norm.h:144; device-facts 3 "(half-even)"). No fp16 tie
# probe: the fp16 y is the vector unit's half Add (same file :132), whose tie rule neither the documents nor the
# source state, so any tie rule of a correct fp16 kernel must pass there.
MARN_Y_PROBES = (("y_store_non_tie", "float16", "128", "0.09375", 128.125),
                 ("y_store_non_tie", "bfloat16", "128", "0.75", 129.0),
                 ("y_store_tie", "bfloat16", "128", "0.5", 128.0))
# V3 low-bit int8 cast q = int8(fp16(local / scale1)): x1 = local (x2 = 1, k = 1, dequantScale 1), scale1 =
# scale2 (ratio 1), world size 1, so the output is q * scale2. tie: 5 / 2 = 2.5 -> 2 (half-even and
# truncation), 3 (half-away): output 4 vs 6. non_tie: 7 / 4 = 1.75 -> 2 (nearest), 1 (truncation): output 8 vs 4.
V3_INT8_PROBES = (("int8_cast_tie", 5, 2.0, 4.0), ("int8_cast_non_tie", 7, 4.0, 8.0))

# MARN: (step, dtype, world size, tie, values by tensor (the rest: x1 0, bias 0, residual 0, gamma 1), exact outputs)
# partial_store: x1 @ x2 = 16 * c (x1 = 1, k = 16) is exact in fp32 and in the output dtype, so the partial
#   x1 @ x2 + bias rounds once wherever the bias is added (MARN-AMB-006); residual 0 leaves y = the stored partial.
# allreduce_store: two exact partials (x1 = 0, rank r's bias b_r) whose sum is inexact; with two ranks fp32 and
#   output-dtype accumulation (MARN-AMB-003) both round that one sum once.
# norm_store: y alternates 3, 1 (x1 = 0): mean square 5, rstd = 1 / sqrt(5 + eps) (fp32), y * rstd = 1.3416 /
#   0.4472: inexact, >= 0.2 ulp of room in both dtypes; gamma 1 makes the gamma store exact. y is exact, so the bf16
#   mean-square sources (device-facts 3) agree. No tie probe: rstd is exact only as a power of two, and then
#   y * rstd is exact.
# gamma_store: y cycles 7 x 10 and 9 x 6 per 16 columns: mean square 1024 / 16 = 64, + eps (1e-6, below half an
#   fp32 ulp of 64) -> 64, rstd = 1/8 exactly; y * rstd = 1.25 / 0.75 exact; gamma g at the 1.25 columns (1 at the
#   others) makes 1.25 * g the one inexact value.
_GAMMA_Y = "cols:" + ",".join(["10"] * 7 + ["6"] * 9)
MARN_STEP_PROBES = (
    ("partial_store", "float16", 1, False, {"x1": "const:1", "x2": "const:0.005859375", "bias": "const:128"}, ("y",)),
    ("partial_store", "bfloat16", 1, False, {"x1": "const:1", "x2": "const:0.046875", "bias": "const:128"}, ("y",)),
    ("allreduce_store", "float16", 2, False, {"bias": "rank:128,0.09375"}, ("y",)),
    ("allreduce_store", "bfloat16", 2, False, {"bias": "rank:128,0.75"}, ("y",)),
    ("norm_store", "float16", 1, False, {"residual": "cols:3,1"}, ("y", "normOut")),
    ("norm_store", "bfloat16", 1, False, {"residual": "cols:3,1"}, ("y", "normOut")),
    ("gamma_store", "float16", 1, False,
     {"residual": _GAMMA_Y, "gamma": "cols:" + ",".join(["1.0029296875"] * 7 + ["1"] * 9)}, ("y", "normOut")),
    ("gamma_store", "bfloat16", 1, False,
     {"residual": _GAMMA_Y, "gamma": "cols:" + ",".join(["1.0234375"] * 7 + ["1"] * 9)}, ("y", "normOut")),
    ("gamma_store", "bfloat16", 1, True,
     {"residual": _GAMMA_Y, "gamma": "cols:" + ",".join(["1.015625"] * 7 + ["1"] * 9)}, ("y", "normOut")),
)
_MARN_STEP_COVERS = {"partial_store": "MARN-NUM-001", "allreduce_store": "MARN-NUM-001",
                     "norm_store": "MARN-NUM-003", "gamma_store": "MARN-NUM-003"}

# V3: (step, row, world size, tie, values by tensor, low-bit?). Shapes (b, s, k, n) = (1, 4, 1, 32); unless given:
# x1 0, x2 1, bias 0, dequantScale 1 (an FP19-exact word for INT64/UINT64), pertokenScale 0.5, comm scales 1, no x3.
# output_store: the dequantised value bias * 1 * 0.5 (exact in fp32) stored by the pertoken kernels' CAST_RINT.
# x3_store: product 128 (exact), plus x3, stored in bf16.
# allreduce_store: rank r's stored value b_r * 0.25 is exact, their sum is not.
# requant_cast: local 5 or 7 quantised exactly by scale1 1; r = int8(q * scale1 / scale2) is the inexact cast.
# dequant_store: local 6, scale1 1, scale2 just below 1 with low mantissa bits: q * ratio = 6 / scale2 lies just
#   above 6 (6.01 to 6.08), so r = 6 under every rounding mode of the requantising cast (truncation included), and
#   r * scale2 is the inexact store.
# fp19_scale: an unmasked INT64/UINT64 word of 1 + 3 * 2^-12 (0.75 of an FP19 ulp above 1); x1 = x2 = 1, so the
#   output is the applied scale: 1.0 under FP19 truncation (device-facts 4, UNCONFIRMED), 1 + 2^-10 to nearest.
V3_STEP_PROBES = (
    ("output_store", "bf16_pt", 1, False, {"bias": "const:515"}, False),
    ("output_store", "bf16_pt", 1, True, {"bias": "const:514"}, False),
    ("output_store", "fp16_pt", 1, False, {"bias": "const:4099"}, False),
    ("output_store", "fp16_pt", 1, True, {"bias": "const:4098"}, False),
    ("x3_store", "bf16", 1, False, {"bias": "const:128", "x3": "const:0.75"}, False),
    ("x3_store", "bf16", 1, True, {"bias": "const:128", "x3": "const:0.5"}, False),
    ("allreduce_store", "bf16", 2, False, {"bias": "rank:512,3", "dequantScale": "const:0.25"}, False),
    ("allreduce_store", "fp16_i64", 2, False, {"bias": "rank:8192,6", "dequantScale": "word_unmasked:0.25"}, False),
    ("requant_cast", "bf16", 1, False, {"x1": "const:7", "commQuantScale2": "shared:const:4"}, True),
    ("requant_cast", "bf16", 1, True, {"x1": "const:5", "commQuantScale2": "shared:const:2"}, True),
    ("requant_cast", "fp16_i64", 1, False, {"x1": "const:7", "commQuantScale2": "shared:const:4"}, True),
    ("requant_cast", "fp16_i64", 1, True, {"x1": "const:5", "commQuantScale2": "shared:const:2"}, True),
    ("dequant_store", "bf16", 1, False, {"x1": "const:6", "commQuantScale2": "shared:const:0.98828125"}, True),
    ("dequant_store", "bf16", 1, True, {"x1": "const:6", "commQuantScale2": "shared:const:0.9921875"}, True),
    ("dequant_store", "fp16_i64", 1, False, {"x1": "const:6", "commQuantScale2": "shared:const:0.99853515625"},
     True),
    ("fp19_scale", "fp16_i64", 1, False, {"x1": "const:1", "dequantScale": "word_unmasked:1.000732421875"}, False),
    ("fp19_scale", "fp16_u64", 1, False, {"x1": "const:1", "dequantScale": "word_unmasked:1.000732421875"}, False),
)
# rounding steps whose tie probes meet their tie inside the pipeline, not at the output's own rounding (the
# reference output of such a probe is representable: tests/test_casegen's tie-distance check)
INNER_TIE_STEPS = frozenset({(v3.OP, "int8_cast"), (v3.OP, "requant_cast")})


def _probe_params(step: str, tie: bool, exact_outputs=None) -> tuple:
    head = (("exact_outputs", exact_outputs),) if exact_outputs else ()
    return head + (("rounding_step", step), ("tie", tie))


def _marn_step_probes() -> list[Case]:
    cases = []
    for step, dt, ws, tie, values, outputs in MARN_STEP_PROBES:
        for op in marn.OPS:
            t = marn.base_tensors(op, dt, marn.Shape("probe", 1, 4, 16, 32, ""))
            for name, spec in {"x1": "const:0", "bias": "const:0", "residual": "const:0", "gamma": "const:1",
                               **values}.items():
                t[name] = replace(t[name], values=spec)
            cases.append(marn._case(op, f"probe_{step}_{'tie' if tie else 'non_tie'}", dt, ws, t,
                                    marn.base_attrs(k=16), kind="exact", profile="signoff",
                                    params=_probe_params(step, tie, outputs),
                                    covers=["MARN-NUM-004", _MARN_STEP_COVERS[step]] + marn.inplace_covers(op)))
    return cases


def _v3_step_probes() -> list[Case]:
    rows = {r.name: r for r in v3.ROWS}
    cases = []
    for step, row_name, ws, tie, values, lowbit in V3_STEP_PROBES:
        row = rows[row_name]
        t = v3.tensors(row, v3.Shape("probe", 1, 4, 1, 32), scale_shape="1", x3="x3" in values, lowbit=lowbit,
                       exact=True)
        for name, spec in {"x1": "const:0", "x2": "const:1", "bias": "const:0", **values}.items():
            t[name] = replace(t[name], values=spec)
        covers = ["V3-NUM-001", "V3-NUM-005"] + (["V3-NUM-002"] if row.deq in ("int64", "uint64") else []) \
            + (["V3-NUM-003"] if lowbit else [])
        cases.append(v3._case(f"probe_{step}_{'tie' if tie else 'non_tie'}-{row.name}", row.out, ws, t, v3.attrs(1),
                              kind="exact", profile="signoff", params=_probe_params(step, tie), covers=covers))
    return cases


def probe_cases() -> list[Case]:
    cases = []
    for name, dt, bias, residual, _ in MARN_Y_PROBES:
        for op in marn.OPS:
            t = marn.base_tensors(op, dt, marn.Shape("probe", 1, 4, 16, 32, ""))
            t["x1"] = replace(t["x1"], values="const:0")
            t["bias"] = replace(t["bias"], values=f"const:{bias}")
            t["residual"] = replace(t["residual"], values=f"const:{residual}")
            t["gamma"] = replace(t["gamma"], values="const:1")
            cases.append(marn._case(op, f"probe_{name}", dt, 1, t, marn.base_attrs(k=16), kind="exact",
                                    profile="signoff", params=(("exact_outputs", ("y",)), ("rounding_step", "y_store"),
                                                               ("tie", "tie" in name and "non_tie" not in name)),
                                    covers=["MARN-NUM-004", "MARN-NUM-005"]
                                    + marn.inplace_covers(op)))
    for name, local, scale, _ in V3_INT8_PROBES:
        for row in (v3.ROWS[0], v3.ROWS[3]):
            t = v3.tensors(row, v3.Shape("probe", 1, 4, 1, 32), bias=False, x3=False, scale_shape="1",
                           lowbit=True, exact=True)
            t["x1"] = replace(t["x1"], values=f"const:{local}")
            t["x2"] = replace(t["x2"], values="const:1")
            for nm in ("commQuantScale1", "commQuantScale2"):
                t[nm] = replace(t[nm], values=f"shared:const:{scale}")
            cases.append(v3._case(f"probe_{name}-{row.name}", row.out, 1, t, v3.attrs(1), kind="exact",
                                  profile="signoff", params=(("rounding_step", "int8_cast"),
                                                             ("tie", "non_tie" not in name)),
                                  covers=["V3-NUM-003", "V3-NUM-004", "V3-NUM-005"]
                                  + (["V3-NUM-002"] if row.deq in ("int64", "uint64") else [])))
    return cases + _marn_step_probes() + _v3_step_probes()


def all_cases() -> list[Case]:
    return marn_rank_cases() + v3_rank_cases() + orientation_cases() + probe_cases()
