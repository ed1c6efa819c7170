"""Turn a Case into an Invocation: draw each rank's own values, build views with the requested layout.

Value distributions (chosen so a correct device passes with margin and a wrong one stands out):
- unit:    U(-1, 1)
- rhs:     U(-1, 1) * 3 / sqrt(k * world_size): each rank's partial x1 @ x2 has variance ~ 1 / world_size,
           so the reduced sum, the bias and the residual are all of order 1 and no term hides another.
- bias:    U(-0.5, 0.5)
- gain:    U(0.5, 1.5) with a random sign (gamma)
- int:a:b  integers in [a, b] (verifiable "exact" cases)
- output   an output buffer filled with NaN, so an unwritten element cannot pass
Every rank draws independently from its own stream, so a backend that reuses rank 0's data is caught.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..protocol import Invocation, TensorArg
from .model import CONTIGUOUS, STRIDED, TRANSPOSED, Case, TensorSpec


def _draw(spec: TensorSpec, case: Case, rng: np.random.Generator, shape) -> np.ndarray:
    name = spec.values
    def uniform(lo, hi):  # float32 draws: half the time and memory of float64 on 10^8-element residuals
        x = rng.random(shape, dtype=np.float32)
        x *= np.float32(hi - lo)
        x += np.float32(lo)
        return x

    if name == "unit":
        x = uniform(-1.0, 1.0)
    elif name == "rhs":
        k = max(int(case.attr_map.get("_k", 1)), 1)
        x = uniform(-1.0, 1.0) * np.float32(3.0 / np.sqrt(k * case.world_size))
    elif name == "bias":
        x = uniform(-0.5, 0.5)
    elif name == "gain":
        x = uniform(0.5, 1.5) * rng.choice(np.array([-1.0, 1.0], dtype=np.float32), shape)
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


def _tensor(spec: TensorSpec, case: Case, rng: np.random.Generator | None) -> TensorArg:
    shape = spec.shape
    if rng is None:  # shape-only: descriptors, no allocation
        strides = TensorArg.contiguous_strides(shape)
        if spec.layout == TRANSPOSED:
            base = TensorArg.contiguous_strides(shape[:-2] + (shape[-1], shape[-2]))
            strides = base[:-2] + (base[-1], base[-2])
        elif spec.layout == STRIDED:
            strides = tuple(s * 2 for s in TensorArg.contiguous_strides(shape[:-1] + (shape[-1] * 2,)))
            strides = strides[:-1] + (2,)
        return TensorArg.descriptor(spec.dtype, shape, strides=strides, format=spec.format)
    if spec.layout == CONTIGUOUS:
        arr = _draw(spec, case, rng, shape)
    elif spec.layout == TRANSPOSED:
        base = _draw(spec, case, rng, shape[:-2] + (shape[-1], shape[-2]))
        arr = np.swapaxes(base, -1, -2)
    elif spec.layout == STRIDED:
        base = _draw(spec, case, rng, shape[:-1] + (shape[-1] * 2,))
        arr = base[..., ::2]
    else:
        raise ValueError(f"case {case.id}: unknown layout {spec.layout!r}")
    return TensorArg.from_array(arr, spec.dtype, format=spec.format)


def materialise(case: Case, run_seed: int) -> Invocation:
    """Build the invocation; each rank's inputs come from its own child stream of the case seed."""
    streams = np.random.SeedSequence(case.seed(run_seed)).spawn(case.world_size)
    ranks = []
    for rank in range(case.world_size):
        rng = None if case.shape_only else np.random.default_rng(streams[rank])
        ranks.append({name: (None if spec is None else _tensor(spec, case, rng)) for name, spec in case.tensors})
    attrs = {k: v for k, v in case.attrs if not k.startswith("_")}
    return Invocation(op=case.op, world_size=case.world_size, ranks=tuple(ranks), attrs=attrs,
                      shape_only=case.shape_only, case_id=case.id)
