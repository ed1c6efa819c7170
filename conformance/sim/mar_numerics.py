"""The device's arithmetic for MatmulAllReduce (the family's device facts), with hook sites.

Per rank: p_r = x1_r @ x2_r (fp32 accumulation) + bias_r, stored in the output dtype. All-reduce: the W stored
partials summed (option `allreduce_accumulation`: in fp32 and rounded once, or sequentially in the output dtype),
the result stored in the output dtype: the output, the same on every rank. This is the first half of
MatmulAllReduceAddRmsNorm's arithmetic; the all-reduce itself is that module's `Allreduce` (one definition of the
family's accumulation options). Rounding is half to even. Where a simulator fault may replace a value the code asks
its `faults` at a hook site declared below (the faults: sim/mar_faults.py).

The record's numeric-path option is the all-reduce accumulation (no other step has a legal alternative here), so
`path` equals `accumulation` and is not read twice.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..hooks import ROUNDING_STEP, site
from ..reference.marn import as_matrix
from .marn_numerics import Allreduce

# ---- hook sites of this arithmetic (its faults: sim/mar_faults.py) -----------------------------------------------
MAR_OWN_ARGUMENTS = site("mar.own_arguments", "the arguments rank r computes with (its own); context ranks, rank")
MAR_X2_MATRIX = site("mar.x2_matrix", "x2 as the float32 (k, n) matrix the matmul reads; context x2: the argument")
MAR_PRODUCT = site("mar.product", "a rank's fp32 x1 @ x2 (rows of it); context x1, x2, dtype")
MAR_BIAS_APPLIED = site("mar.bias_applied", "whether rank r adds its bias (True); context rank")
MAR_STORED_PARTIALS = site("mar.stored_partials", "the stored partials rank r puts into the all-reduce ([p]); "
                                                  "context rank, world")
MAR_REDUCED = site("mar.reduced", "the all-reduced output (in place)")
MAR_HELD = site("mar.held", "what each rank returns after the all-reduce ([output] * world)")

ROW_BLOCK_ELEMENTS = 1 << 19  # elements of the row blocks run() reduces at a time (no (m, n) float32 whole)


def _rounder(faults, step: str):
    return faults.at(ROUNDING_STEP, dtypes.round_to, step=f"mar.{step}")


def own_arguments(ranks, r: int, faults) -> dict:
    return faults.at(MAR_OWN_ARGUMENTS, ranks[r], ranks=ranks, rank=r)


def _operands(ranks, r: int, faults):
    t = own_arguments(ranks, r, faults)
    bias = t.get("bias")
    return (as_matrix(t["x1"]), faults.at(MAR_X2_MATRIX, as_matrix(t["x2"]), x2=t["x2"]),
            None if bias is None else as_matrix(bias).reshape(-1), t["x1"].dtype)


def _stored(operands, r: int, world: int, faults, rows: slice = slice(None)) -> list[np.ndarray]:
    """Rank r's stored partial(s) for rows `rows` of x1 (every step is row-independent)."""
    x1, x2, bias, dtype = operands
    x1 = x1[rows]
    part = faults.at(MAR_PRODUCT, x1 @ x2, x1=x1, x2=x2, dtype=dtype)
    if bias is not None and faults.at(MAR_BIAS_APPLIED, True, rank=r):
        part += bias
    return faults.at(MAR_STORED_PARTIALS, [_rounder(faults, "partial_store")(part, dtype)], rank=r, world=world)


def _output_shape(ranks) -> tuple[int, ...]:
    return tuple(ranks[0]["output"].shape)


def run(op: str, ranks, attrs: dict, faults, accumulation: str, path: str | None = None) -> list[dict]:
    """All ranks in one process, one row block at a time (never all W partials of the whole output held)."""
    world, dtype = len(ranks), ranks[0]["x1"].dtype
    operands = [_operands(ranks, r, faults) for r in range(world)]
    m, n = operands[0][0].shape[0], operands[0][1].shape[1]
    out = np.empty((m, n), dtypes.np_dtype(dtype))
    rows = max(1, ROW_BLOCK_ELEMENTS // max(n, 1))
    for lo in range(0, m, rows):
        acc = Allreduce(dtype, accumulation, _rounder(faults, "allreduce_store"))
        for r in range(world):
            for p in _stored(operands[r], r, world, faults, slice(lo, lo + rows)):
                acc.add(p)
        out[lo:lo + rows] = acc.result()
    out = faults.at(MAR_REDUCED, out)
    shape = _output_shape(ranks)
    held = faults.at(MAR_HELD, [out.reshape(shape)] * world)
    return [{"output": np.array(h, copy=True)} for h in held]


def rank_run(op: str, ranks, r: int, world_size: int, attrs: dict, allgather, faults, accumulation: str,
             path: str | None = None) -> dict[str, np.ndarray]:
    """Rank r's output in process mode (sim/rank_program.py): its own stored partial exchanged through `allgather`
    (every rank's value, in rank order), then reduced."""
    dtype = ranks[0]["x1"].dtype
    gathered = allgather(_stored(_operands(ranks, r, faults), r, world_size, faults))
    acc = Allreduce(dtype, accumulation, _rounder(faults, "allreduce_store"))
    for rank_parts in gathered:
        for p in rank_parts:
            acc.add(p)
    out = faults.at(MAR_REDUCED, acc.result())
    return {"output": out.reshape(_output_shape(ranks))}
