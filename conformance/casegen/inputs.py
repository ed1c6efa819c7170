"""Turn a Case into an Invocation: draw each rank's own values, build views with the requested layout.

Value distributions (chosen so a correct device passes with margin and a wrong one stands out):
- unit:    U(-1, 1)
- rhs:     U(-1, 1) * 3 / sqrt(k * world_size): each rank's partial x1 @ x2 has variance ~ 1 / world_size,
           so the reduced sum, the bias and the residual are all of order 1 and no term hides another.
- bias:    U(-0.5, 0.5)
- gain:    U(0.5, 1.5) with a random sign (gamma)
- int:a:b  integers in [a, b] (verifiable "exact" cases)
- pos_unit, pos_rhs   same-sign variants of unit and rhs (accumulation-order probes)
- probe_bias, probe_residual   the bf16 rounding-point probe (casegen.marn.probe_cases)
- output   an output buffer filled with NaN, so an unwritten element cannot pass
- uniform:lo:hi, const:v            plain helpers
- cols:v0,v1,...   the last axis cycles through the values; rank:v0,v1,...   rank r's tensor is v_r everywhere
                   (the rounding probes, casegen/design.py)
- deq:enc   dequantScale of ~1/|x1 @ x2| (from k) times U(0.5, 1.5); enc = f32 | bf16 | word (encoded by
            trans_quant_param, round mode 0) | word_r1 (round mode 1); word_unmasked:v keeps all 32 bits of v
- bias_acc  int32 bias of the order of x1 @ x2 (from k)
- comm1 / comm2 / comm1_small / comm2_small   commQuantScale1/2 sized so int8 values use most of the range
            without saturating (the _small variants saturate on purpose)
Every rank draws independently from its own stream, so a backend that reuses rank 0's data is caught.
A distribution prefixed `shared:` draws from one per-case stream instead, identical on every rank (the comm
scales, which the contract requires identical).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes, quant
from ..protocol import Invocation, TensorArg
from .model import CONTIGUOUS, NZ, NZ_3D, NZ_TRANSPOSED, STRIDED, TRANSPOSED, Case, TensorSpec

INT8_STD = float(np.sqrt((255**2 - 1) / 12))  # std of a uniform integer in [-127, 127]
LOCAL_STD = 2.6  # measured: with this, the heavy tail of dequant * pertoken * acc + x3 reaches ~110 of 127 steps
COMM1_BASE = 4.5 * LOCAL_STD / 110  # 4.5 sigma of a local value lands at ~110 of 127 int8 steps
# A rank's largest local value grows with its count: over 2^16 of them (the path-designed and layer cases) the
# scales place the expected maximum of that many normal values plus half a sigma at ~110 steps, not 4.5 sigma
# (a 3072 x 2048 output reaches 5.3 sigma and would saturate a valid case). Smaller cases keep COMM1_BASE.
MANY_LOCAL_VALUES = 1 << 16


def _comm1_base(case: Case) -> float:
    count = max((math.prod(spec.shape) for _, spec in case.tensors if spec is not None and spec.values == "output"),
                default=1)
    if count <= MANY_LOCAL_VALUES:
        return COMM1_BASE
    return (float(np.sqrt(2.0 * np.log(count))) + 0.5) * LOCAL_STD / 110


DRAW_BLOCK = 1 << 18  # elements drawn and rounded at a time: a 10^8-element residual never exists in float32


def _uniform_family(name: str, case: Case) -> tuple[float, float, float, bool] | None:
    """(lo, hi, factor, divide) of a distribution that is U(lo, hi) times (or divided by) a float32 factor,
    element by element; None for the others."""
    k = max(int(case.attr_map.get("_k", 1)), 1)
    acc_std = float(np.sqrt(k) * INT8_STD * INT8_STD)
    comm1 = _comm1_base(case) if name.startswith("comm") else COMM1_BASE
    if name.startswith("uniform:"):
        lo, hi = (float(v) for v in name.split(":")[1:])
        return lo, hi, 1.0, False
    if name in ("deq:f32", "deq:bf16", "deq:word", "deq:word_r1"):  # the word encodings encode this scale
        return 0.5, 1.5, acc_std, True
    table = {
        "unit": (-1.0, 1.0, 1.0),
        "rhs": (-1.0, 1.0, 3.0 / np.sqrt(k * case.world_size)),
        "bias": (-0.5, 0.5, 1.0),
        "pos_unit": (0.0, 1.0, 1.0),
        "pos_rhs": (0.0, 1.0, 3.0 / np.sqrt(k * case.world_size)),
        "bias_acc": (-1.0, 1.0, acc_std),
        "comm1": (0.8, 1.2, comm1), "comm1_small": (0.8, 1.2, comm1 * 0.2),
        # the reduced int8 sum of W ranks has sqrt(W) times the spread: scale2 grows with it
        "comm2": (0.7, 0.9, comm1 * np.sqrt(case.world_size)),
        "comm2_small": (0.7, 0.9, comm1 * np.sqrt(case.world_size) * 0.15),
    }
    if name not in table:
        return None
    lo, hi, factor = table[name]
    return lo, hi, float(factor), False


def _draw_uniform_family(dtype: str, rng: np.random.Generator, shape, family) -> np.ndarray:
    """U(lo, hi) (x or / factor) in float32, stored in `dtype`, DRAW_BLOCK elements at a time (the
    same draws and the same float32 arithmetic per element as one whole draw: numpy's generator continues its
    stream across calls)."""
    lo, hi, factor, divide = family
    out = np.empty(shape, dtypes.np_dtype(dtype))
    flat = out.reshape(-1)
    integer = dtypes.info(dtype).unit_roundoff == 0.0
    for start in range(0, flat.size, DRAW_BLOCK):
        x = rng.random(min(DRAW_BLOCK, flat.size - start), dtype=np.float32)
        x *= np.float32(hi - lo)
        x += np.float32(lo)
        if divide:
            x /= np.float32(factor)
        elif factor != 1.0:
            x *= np.float32(factor)
        flat[start:start + x.size] = np.rint(x) if integer else dtypes.round_to(x, dtype)
    return out


def _draw(spec: TensorSpec, case: Case, rng: np.random.Generator, shape, rank: int = 0) -> np.ndarray:
    name = spec.values
    family = _uniform_family(name, case)
    if name in ("deq:word", "deq:word_r1"):  # the float32 scale, encoded by trans_quant_param
        scale = _draw_uniform_family("float32", rng, shape, family)
        return quant.trans_quant_param(scale, round_mode=1 if name == "deq:word_r1" else 0).astype(
            dtypes.np_dtype(spec.dtype))
    if family is not None:
        return _draw_uniform_family(spec.dtype, rng, shape, family)
    if name.startswith("const:"):
        x = np.full(shape, float(name.split(":")[1]), dtype=np.float32)
    elif name.startswith(("cols:", "rank:")):
        values = [float(v) for v in name.split(":")[1].split(",")]
        x = (np.resize(np.asarray(values, np.float32), shape) if name.startswith("cols:")
             else np.full(shape, values[rank], np.float32))
    elif name.startswith("word_unmasked:"):
        return quant.unmasked_quant_param(np.full(shape, float(name.split(":")[1]), np.float32)).astype(
            dtypes.np_dtype(spec.dtype))
    elif name == "probe_bias":  # bf16 rounding-point probe: columns 1.. get 6 * 2^-11 in total over the ranks
        x = np.full(shape, 6 * 2.0**-11 / case.world_size, np.float32)
        x[..., 0] = 0.0
    elif name == "probe_residual":  # column 0 dominates the RMS; the rest sit just below a bf16 tie after the add
        x = np.ones(shape, np.float32)
        x[..., 0] = 10.75
    elif name == "gain":  # the magnitudes, then the signs: two whole draws, in this order
        x = _draw_uniform_family("float32", rng, shape, (0.5, 1.5, 1.0, False))
        x = x * rng.choice(np.array([-1.0, 1.0], dtype=np.float32), shape)
    elif name.startswith("int:"):
        lo, hi = (int(v) for v in name.split(":")[1:])
        x = rng.integers(lo, hi, shape, endpoint=True).astype(np.float64)
    elif name == "output":
        fill = np.nan if dtypes.info(spec.dtype).unit_roundoff else 0
        return np.full(shape, fill, dtype=dtypes.np_dtype(spec.dtype))
    else:
        raise ValueError(f"case {case.id}: unknown value distribution {name!r}")
    if dtypes.info(spec.dtype).unit_roundoff == 0.0:
        return np.rint(x).astype(dtypes.np_dtype(spec.dtype))
    return dtypes.round_to(x, spec.dtype)


def _tensor(spec: TensorSpec, case: Case, rng: np.random.Generator | None,
            shared: np.random.Generator | None = None, rank: int = 0) -> TensorArg:
    shape = spec.shape
    if rng is not None and spec.values.startswith("shared:"):
        rng, spec = shared, TensorSpec(spec.dtype, spec.shape, spec.values[len("shared:"):], spec.layout, spec.format)
    if rng is None:  # shape-only: descriptors, no allocation
        strides = TensorArg.contiguous_strides(shape)
        if spec.layout in (TRANSPOSED, NZ_TRANSPOSED):
            strides = TensorArg.transposed_strides(shape)
        elif spec.layout == STRIDED:
            strides = tuple(s * 2 for s in TensorArg.contiguous_strides(shape[:-1] + (shape[-1] * 2,)))
            strides = strides[:-1] + (2,)
        if spec.layout in (NZ, NZ_TRANSPOSED):
            rows, cols = (shape[-1], shape[-2]) if spec.layout == NZ_TRANSPOSED else (shape[-2], shape[-1])
            return TensorArg(spec.dtype, tuple(shape), strides, spec.format,
                             quant.nz_storage_shape(rows, cols, dtypes.np_dtype(spec.dtype).itemsize), None)
        return TensorArg.descriptor(spec.dtype, shape, strides=strides, format=spec.format)
    if spec.layout == CONTIGUOUS:
        arr = _draw(spec, case, rng, shape, rank)
    elif spec.layout == TRANSPOSED:
        base = _draw(spec, case, rng, shape[:-2] + (shape[-1], shape[-2]))
        arr = np.swapaxes(base, -1, -2)
    elif spec.layout == STRIDED:
        base = _draw(spec, case, rng, shape[:-1] + (shape[-1] * 2,))
        arr = base[..., ::2]
    elif spec.layout in (NZ, NZ_TRANSPOSED):  # the NZ tiling of the stored matrix (k, n), or (n, k) if transposed
        stored = (shape[-1], shape[-2]) if spec.layout == NZ_TRANSPOSED else tuple(shape)
        nz = quant.nd_to_nz(_draw(spec, case, rng, stored))
        strides = (TensorArg.transposed_strides(shape) if spec.layout == NZ_TRANSPOSED
                   else TensorArg.contiguous_strides(shape))
        return TensorArg(spec.dtype, tuple(shape), strides, spec.format, nz.shape, nz)
    elif spec.layout == NZ_3D:
        nz = quant.nd_to_nz(_draw(spec, case, rng, tuple(shape)))
        nz = nz.reshape(-1, *nz.shape[2:])
        return TensorArg(spec.dtype, tuple(shape), TensorArg.contiguous_strides(shape), spec.format, nz.shape, nz)
    else:
        raise ValueError(f"case {case.id}: unknown layout {spec.layout!r}")
    return TensorArg.from_array(arr, spec.dtype, format=spec.format)


def materialise(case: Case, run_seed: int) -> Invocation:
    """Build the invocation; each rank's inputs come from its own child stream of the case seed."""
    streams = np.random.SeedSequence(case.seed(run_seed)).spawn(case.world_size + 1)
    ranks = []
    for rank in range(case.world_size):
        rng = None if case.shape_only else np.random.default_rng(streams[rank])
        shared = None if case.shape_only else np.random.default_rng(streams[-1])  # same draws on every rank
        ranks.append({name: (None if spec is None else _tensor(spec, case, rng, shared, rank))
                      for name, spec in case.tensors})
    attrs = {k: v for k, v in case.attrs if not k.startswith("_")}
    return Invocation(op=case.op, world_size=case.world_size, ranks=tuple(ranks), attrs=attrs,
                      shape_only=case.shape_only, case_id=case.id)
