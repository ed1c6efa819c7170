"""The rounding probes (casegen/design.py, docs/rounding-probes.md): each names one rounding step, the correct
simulator and the reference give the half-even bits worked out by hand below, and the simulator with that one step
rounded toward zero (or half away from zero) gives the other bits worked out by hand, failing the probe, while every
other step's probes pass it (each probe isolates its step)."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from conformance import operators
from conformance.casegen import design
from conformance.casegen.inputs import materialise
from conformance.context import Context
from conformance.judge import run_case
from conformance.sim import SimulatorBackend
from conformance.sim.faults import ROUNDING_FAULTS, half_away_int8, half_away_to, truncate_int8

PROBES = design.probe_cases()
NO_METRICS = Context(seed=0, with_metrics=False)

# Significant bits of the stores' targets (int8: an integer, 0 fractional bits).
BITS = {"float16": 11, "bfloat16": 8}


def _round(v: F, bits: int | None, mode: str) -> F:
    """v > 0 rounded to `bits` significant bits (None: to an integer) toward zero, to nearest-even or half away."""
    unit = F(1) if bits is None else F(2) ** (math.floor(math.log2(v)) - bits + 1)
    k = v / unit
    low = math.floor(k)
    if mode == "truncate" or k == low:
        return low * unit
    if k - low == F(1, 2):
        return (low + (1 if mode == "half_away" or low % 2 else 0)) * unit
    return (low + (k - low > F(1, 2))) * unit


# (operator short name, step, dtype, tie) -> (output, column, exact value of the step, then the output's value when
# the step rounds half-even / toward zero / half away). Worked by hand:
# MARN (b*s = 4 rows, n = 32 columns; every row alike):
#  partial_store fp16: x1 @ x2 = 16 * 0.005859375 = 0.09375, + bias 128 = 128.09375; fp16 ulp in [128, 256) is 1/8:
#    1024.75 eighths -> 1025/8 = 128.125 (nearest), 1024/8 = 128 (truncated).
#  partial_store bf16: 16 * 0.046875 = 0.75, + 128 = 128.75; bf16 ulp 1 -> 129 / 128.
#  allreduce_store: rank biases 128 and 0.09375 (fp16), 128 and 0.75 (bf16): the same sums as above.
#  y_store: bias 128 + residual 0.09375 / 0.75 as above; tie 128 + 0.5 = 128.5 -> 128 (even) / 128 / 129.
#  norm_store: y = 3, 1, 3, 1, ...; mean square 5; rstd = 1/sqrt(5 + 1e-6) = 0.447213550; 3 * rstd = 1.341640650:
#    fp16 ulp 2^-10 -> 1373.84 ulps -> 1374/1024 = 1.341796875 / 1373/1024 = 1.3408203125;
#    bf16 ulp 2^-7 -> 171.73 ulps -> 172/128 = 1.34375 / 171/128 = 1.3359375.
#  gamma_store: y = 10 (7 of 16 columns), 6; mean square (7*100 + 9*36) / 16 = 64, rstd = 1/8, y * rstd = 1.25;
#    fp16 gamma 1 + 3 * 2^-10: 1.25 + 3.75 * 2^-10 -> 1.25 + 4 * 2^-10 = 1.25390625 / 1.25 + 3 * 2^-10 = 1.2529296875;
#    bf16 gamma 1 + 3 * 2^-7: 1.25 + 3.75 * 2^-7 -> 1.28125 / 1.2734375;
#    bf16 tie gamma 1 + 2^-6: 1.25 + 2.5 * 2^-7 -> 1.25 + 2 * 2^-7 = 1.265625 (even) / 1.265625 / 1.2734375.
# V3 (every element alike):
#  output_store bf16_pt: bias 515 * 1 * pertoken 0.5 = 257.5; bf16 ulp 2 in [256, 512) -> 258 / 256;
#    tie 514 * 0.5 = 257 -> 256 (even) / 256 / 258.
#  output_store fp16_pt: 4099 * 0.5 = 2049.5; fp16 ulp 2 in [2048, 4096) -> 2050 / 2048; tie 2049 -> 2048 / 2048 / 2050.
#  x3_store bf16: 128 + x3 0.75 = 128.75 -> 129 / 128; tie 128 + 0.5 -> 128 / 128 / 129.
#  allreduce_store: bf16 512 * 0.25 + 3 * 0.25 = 128.75 -> 129 / 128; fp16 8192 * 0.25 + 6 * 0.25 = 2049.5 -> 2050 /
#    2048.
#  int8_cast (scale1 = scale2 = s): local / s = 7/4 = 1.75 -> q 2 / 1, output q * 4 = 8 / 4; tie 5/2 = 2.5 -> q 2 / 2
#    / 3, output q * 2 = 4 / 4 / 6.
#  requant_cast (scale1 1): q * 1/scale2 = 7/4 = 1.75 -> r 2 / 1, output r * 4 = 8 / 4; tie 5/2 -> r 2 / 2 / 3,
#    output 4 / 4 / 6.
#  dequant_store (r = 6): bf16 6 * 0.98828125 = 5.9296875 = 189.75 * 2^-5 -> 190/32 = 5.9375 / 189/32 = 5.90625;
#    tie 6 * 0.9921875 = 5.953125 = 190.5 * 2^-5 -> 5.9375 (even) / 5.9375 / 191/32 = 5.96875;
#    fp16 6 * 0.99853515625 = 5.9912109375 = 1533.75 * 2^-8 -> 1534/256 = 5.9921875 / 1533/256 = 5.98828125.
#  fp19_scale: the scale 1 + 3 * 2^-12 to 10 mantissa bits: 1024.75 * 2^-10 -> 1 (truncated: the modelled rule, so the
#    expected output) / 1025 * 2^-10 = 1.0009765625 (nearest, either tie rule).
H = F(1, 2)
RSTD = 1 / math.sqrt(5 + 1e-6)
HAND = {
    ("marn", "partial_store", "float16", False): ("y", 0, F(128) + 16 * F(3, 512), 128.125, 128.0, 128.125),
    ("marn", "partial_store", "bfloat16", False): ("y", 0, F(128) + 16 * F(3, 64), 129.0, 128.0, 129.0),
    ("marn", "allreduce_store", "float16", False): ("y", 0, F(128) + F(3, 32), 128.125, 128.0, 128.125),
    ("marn", "allreduce_store", "bfloat16", False): ("y", 0, F(128) + F(3, 4), 129.0, 128.0, 129.0),
    ("marn", "y_store", "float16", False): ("y", 0, F(128) + F(3, 32), 128.125, 128.0, 128.125),
    ("marn", "y_store", "bfloat16", False): ("y", 0, F(128) + F(3, 4), 129.0, 128.0, 129.0),
    ("marn", "y_store", "bfloat16", True): ("y", 0, F(128) + H, 128.0, 128.0, 129.0),
    ("marn", "norm_store", "float16", False): ("normOut", 0, F(3 * RSTD), 1.341796875, 1.3408203125, 1.341796875),
    ("marn", "norm_store", "bfloat16", False): ("normOut", 0, F(3 * RSTD), 1.34375, 1.3359375, 1.34375),
    ("marn", "gamma_store", "float16", False): ("normOut", 0, F(5, 4) * (1 + F(3, 1024)), 1.25390625, 1.2529296875,
                                                1.25390625),
    ("marn", "gamma_store", "bfloat16", False): ("normOut", 0, F(5, 4) * (1 + F(3, 128)), 1.28125, 1.2734375,
                                                 1.28125),
    ("marn", "gamma_store", "bfloat16", True): ("normOut", 0, F(5, 4) * (1 + F(1, 64)), 1.265625, 1.265625,
                                                1.2734375),
    ("v3", "output_store", "bf16_pt", False): ("output", 0, F(515, 2), 258.0, 256.0, 258.0),
    ("v3", "output_store", "bf16_pt", True): ("output", 0, F(257), 256.0, 256.0, 258.0),
    ("v3", "output_store", "fp16_pt", False): ("output", 0, F(4099, 2), 2050.0, 2048.0, 2050.0),
    ("v3", "output_store", "fp16_pt", True): ("output", 0, F(2049), 2048.0, 2048.0, 2050.0),
    ("v3", "x3_store", "bf16", False): ("output", 0, F(128) + F(3, 4), 129.0, 128.0, 129.0),
    ("v3", "x3_store", "bf16", True): ("output", 0, F(128) + H, 128.0, 128.0, 129.0),
    ("v3", "allreduce_store", "bf16", False): ("output", 0, F(515, 4), 129.0, 128.0, 129.0),
    ("v3", "allreduce_store", "fp16_i64", False): ("output", 0, F(8198, 4), 2050.0, 2048.0, 2050.0),
    ("v3", "int8_cast", "bf16", False): ("output", 0, F(7, 4), 8.0, 4.0, 8.0),
    ("v3", "int8_cast", "fp16_i64", False): ("output", 0, F(7, 4), 8.0, 4.0, 8.0),
    ("v3", "int8_cast", "bf16", True): ("output", 0, F(5, 2), 4.0, 4.0, 6.0),
    ("v3", "int8_cast", "fp16_i64", True): ("output", 0, F(5, 2), 4.0, 4.0, 6.0),
    ("v3", "requant_cast", "bf16", False): ("output", 0, F(7, 4), 8.0, 4.0, 8.0),
    ("v3", "requant_cast", "fp16_i64", False): ("output", 0, F(7, 4), 8.0, 4.0, 8.0),
    ("v3", "requant_cast", "bf16", True): ("output", 0, F(5, 2), 4.0, 4.0, 6.0),
    ("v3", "requant_cast", "fp16_i64", True): ("output", 0, F(5, 2), 4.0, 4.0, 6.0),
    ("v3", "dequant_store", "bf16", False): ("output", 0, 6 * F(253, 256), 5.9375, 5.90625, 5.9375),
    ("v3", "dequant_store", "bf16", True): ("output", 0, 6 * F(127, 128), 5.9375, 5.9375, 5.96875),
    ("v3", "dequant_store", "fp16_i64", False): ("output", 0, 6 * F(2045, 2048), 5.9921875, 5.98828125, 5.9921875),
    ("v3", "fp19_scale", "fp16_i64", False): ("output", 0, 1 + F(3, 4096), 1.0009765625, 1.0, 1.0009765625),
    ("v3", "fp19_scale", "fp16_u64", False): ("output", 0, 1 + F(3, 4096), 1.0009765625, 1.0, 1.0009765625),
}
# the int8 casts round the step's value to an integer; the output is that integer times scale2 (4 or 2, exact)
INT8_STEPS = {"int8_cast", "requant_cast"}
FP19_BITS = 11  # sign aside: 1 + 10 mantissa bits


def _key(case) -> tuple:
    step, tie = dict(case.params)["rounding_step"], bool(dict(case.params)["tie"])
    if case.op == "QuantMatmulAllReduceV3":
        return ("v3", step, case.id.split("-")[2], tie)
    return ("marn", step, case.dtype, tie)


def _step_bits(key) -> int | None:
    if key[1] in INT8_STEPS:
        return None
    if key[1] == "fp19_scale":
        return FP19_BITS
    dtype = key[2] if key[0] == "marn" else ("float16" if key[2].startswith("fp16") else "bfloat16")
    return BITS[dtype]


def _element(case, faults=()) -> float:
    output, column = HAND[_key(case)][:2]
    if output == "y":
        output = operators.get(case.op).summed_output
    results = SimulatorBackend(faults=faults).invoke(materialise(case, 0))
    return float(np.asarray(results[0].outputs[output]).reshape(-1, 32)[0, column].astype(np.float32))


def test_every_probe_has_a_hand_worked_expectation_and_every_step_its_faults():
    assert {_key(c) for c in PROBES} == set(HAND)
    steps = {f"{_key(c)[0]}.{_key(c)[1]}" for c in PROBES}
    assert steps == {name.split(":")[1] for name in ROUNDING_FAULTS}


@pytest.mark.parametrize("key", sorted(HAND, key=str))
def test_hand_worked_values_follow_the_three_rounding_modes(key):
    """The table's output values are the step's exact value rounded three ways (scaled by the exact later steps),
    the modes differ where the probe claims (non-tie: truncation; tie: half-away), and a non-tie value sits
    0.25 ulp from its nearest neighbour (norm_store: >= 0.1 ulp), a tie value exactly half-way."""
    _, _, exact, even, toward, away = HAND[key]
    bits = _step_bits(key)
    scale = 1 if key[1] not in INT8_STEPS else (4 if exact == F(7, 4) else 2)
    mode_values = [float(_round(exact, bits, mode) * scale) for mode in ("half_even", "truncate", "half_away")]
    if key[1] == "fp19_scale":  # the modelled rule is truncation: expected is the truncated scale
        assert mode_values == [even, toward, away] and toward != even
        return
    assert mode_values == [even, toward, away]
    tie = key[3]
    assert (even == away) != tie and (even != toward or tie)
    unit = F(1) if bits is None else F(2) ** (math.floor(math.log2(exact)) - bits + 1)
    frac = exact / unit - math.floor(exact / unit)
    assert frac == H if tie else (frac in (F(1, 4), F(3, 4)) or (key[1] == "norm_store" and abs(frac - H) <= 0.4))


@pytest.mark.parametrize("case", PROBES, ids=lambda c: c.id)
def test_probe_passes_the_correct_simulator_with_the_half_even_bits(case):
    key = _key(case)
    expected = HAND[key][4] if key[1] == "fp19_scale" else HAND[key][3]
    assert _element(case) == expected
    assert run_case(case, SimulatorBackend(), NO_METRICS).passed


def _faults_of(case) -> dict[str, float]:
    """The rounding faults of the case's step and the output each must produce."""
    key = _key(case)
    _, _, _, even, toward, away = HAND[key]
    prefix = f"round:{'v3' if key[0] == 'v3' else 'marn'}.{key[1]}:"
    wrong = {"truncate": toward, "half_away": away, "nearest_even": even}
    return {name: wrong[name[len(prefix):]] for name in ROUNDING_FAULTS if name.startswith(prefix)}


@pytest.mark.parametrize("case", PROBES, ids=lambda c: c.id)
def test_each_fault_of_the_step_gives_its_hand_worked_bits(case):
    """Each rounding fault of the probe's step produces the output its rounding mode gives by hand; where that
    differs from the correct bits (truncation off a tie, half-away on a tie, FP19 rounded to nearest) the probe
    fails."""
    key = _key(case)
    correct = HAND[key][4] if key[1] == "fp19_scale" else HAND[key][3]
    faults = _faults_of(case)
    assert faults, f"{case.id}: no rounding fault of its step"
    caught = 0
    for fault, value in faults.items():
        assert _element(case, [fault]) == value, fault
        passed = run_case(case, SimulatorBackend(faults=[fault]), NO_METRICS).passed
        assert passed == (value == correct), fault
        caught += not passed
    assert caught, f"{case.id}: no fault of its step fails it"


def test_every_rounding_fault_fails_a_probe_of_its_step_and_passes_every_other_steps_probe():
    """The probe x fault matrix is block-diagonal: a fault fails only probes of its own step (the probes isolate
    their step), and each fault fails at least one."""
    for fault in ROUNDING_FAULTS:
        op, step = fault.split(":")[1].split(".")
        backend = SimulatorBackend(faults=[fault])
        failed = {c.id for c in PROBES if not run_case(c, backend, NO_METRICS).passed}
        own = {c.id for c in PROBES if _key(c)[:2] == (op, step)}
        assert failed and failed <= own, (fault, sorted(failed - own))


def test_the_faults_rounders_round_as_named():
    # fp16 near 1024 (ulp 1): 1024.5 is a tie (1024 even), 1025.5 a tie (1026 even), 1024.75 off a tie
    x = np.array([1024.5, 1025.5, 1024.75, -1024.5, 1024.0], np.float32)
    assert half_away_to(x, "float16").astype(np.float32).tolist() == [1025, 1026, 1025, -1025, 1024]
    # bf16 near 128 (ulp 1)
    assert half_away_to(np.array([128.5, 128.25], np.float32), "bfloat16").astype(np.float32).tolist() == [129, 128]
    assert truncate_int8([1.75, -1.75, 200.0]).tolist() == [1, -1, 127]
    assert half_away_int8([2.5, -2.5, 1.4, -300.0]).tolist() == [3, -3, 1, -128]
