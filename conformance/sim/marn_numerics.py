"""The device's arithmetic for the MatmulAllReduceAddRmsNorm pair (device-facts 2-3), with hook sites.

Per rank: p_r = x1_r @ x2_r (fp32 accumulation) + bias_r, stored in the output dtype. All-reduce: the W
stored partials summed (option `allreduce_accumulation`: in fp32 then rounded once, or sequentially in the
output dtype), the result stored in the output dtype. Then, with the rank's own residual and gamma:
- fp16: y = fp16(mm + residual); rstd from the rounded y in fp32; normOut = fp16(fp16(y * rstd) * gamma).
- bf16: x = mm + residual in fp32; y = bf16(x); then, by the kernel's AddRmsNorm mode (device-facts 3; option
  `rms_source`, RMS_SOURCES): the mean square and the numerator of x * rstd both from x ("fp32_sum"), both
  from the rounded y ("rounded_y"), or the mean square from x and the numerator from y ("split_d");
  normOut = bf16(bf16(numerator * rstd) * gamma).
Rounding is half to even everywhere. Where a simulator fault may replace a value the code asks its `faults` (a
conformance.hooks.Hooks: sim/faults.py's FaultSet, or NO_HOOKS) at a hook site declared below.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, operators
from ..hooks import ROUNDING_STEP, site
from ..reference.marn import as_matrix

# ---- hook sites of this arithmetic (its faults: sim/marn_faults.py) ----------------------------------------------
MARN_ROUND = site("marn.round", "the function rounding fp32 values to fp16/bf16 (dtypes.round_to)")
MARN_OWN_ARGUMENTS = site("marn.own_arguments", "the arguments rank r computes with (its own); context ranks, rank")
MARN_X2_MATRIX = site("marn.x2_matrix", "x2 as the float32 (k, n) matrix the matmul reads; context x2: the argument")
MARN_PRODUCT = site("marn.product", "a rank's fp32 x1 @ x2 (rows of it); context x1, x2, dtype")
MARN_BIAS_APPLIED = site("marn.bias_applied", "whether rank r adds its bias (True); context rank")
MARN_PARTIAL = site("marn.partial", "rank r's fp32 partial x1 @ x2 + bias before it is stored; context rank")
MARN_STORED_PARTIALS = site("marn.stored_partials", "the stored partials rank r puts into the all-reduce ([p]); "
                                                    "context rank, world")
MARN_REDUCED = site("marn.reduced", "the all-reduced matmul result (in place)")
MARN_HELD = site("marn.held", "what each rank holds after the all-reduce ([mm] * world); context partials: a callable "
                              "returning every rank's stored partials in rank order, reduce(partials, accumulation)")
MARN_GAMMA = site("marn.gamma", "gamma as the norm applies it ((n,) float32; None: not applied)")
MARN_RMS_AXIS = site("marn.rms_axis", "the axis the mean square is taken over (1)")
MARN_RESIDUAL_SUM = site("marn.residual_sum", "the fp32 sum of a row block of the reduced matmul and the residual; "
                                              "context mm: the matmul's block")
MARN_RSTD = site("marn.rstd", "1 / sqrt(mean square + eps) of a row block; context ms, eps")
MARN_NORM_OUT_BLOCK = site("marn.norm_out_block", "whether this rank's normOut was already perturbed (False), after "
                                                  "a row block was stored; context block (in place), exact: its "
                                                  "fp32 values")
MARN_INPLACE_WRITTEN = site("marn.inplace_written", "what the inplace variant writes into residual (y); context "
                                                    "residual: the argument, norm_out")
MARN_INPLACE_NORM_OUT = site("marn.inplace_norm_out", "the inplace variant's normOut (in place)")


# elements of the row blocks finish() works on: every step is elementwise or per row, so the block size changes no
# value; blocks this small keep a block's float32 temporaries in a core's L2 cache
FINISH_BLOCK_ELEMENTS = 1 << 16

# bf16 paths a correct kernel takes (device-facts 3): (mean-square source, numerator source)
RMS_SOURCES = {"fp32_sum": ("x", "x"), "rounded_y": ("y", "y"), "split_d": ("x", "y")}


def _rounder(faults, step: str | None = None):
    rnd = faults.at(MARN_ROUND, dtypes.round_to)
    return rnd if step is None else faults.at(ROUNDING_STEP, rnd, step=f"marn.{step}")  # one named store


def allreduce(partials: list[np.ndarray], dtype: str, accumulation: str, rnd) -> np.ndarray:
    acc = Allreduce(dtype, accumulation, rnd)
    for p in partials:
        acc.add(p)
    return acc.result()


class Allreduce:
    """The all-reduce fed one stored partial at a time (rank order), so the in-process simulator never holds
    all W partials: float32 sums each widened partial into one accumulator, output_dtype rounds after every
    add."""

    def __init__(self, dtype: str, accumulation: str, rnd):
        if accumulation not in ("float32", "output_dtype"):
            raise ValueError(f"unknown allreduce_accumulation {accumulation!r}")
        self.dtype, self.accumulation, self.rnd = dtype, accumulation, rnd
        self.total = None

    def add(self, p: np.ndarray) -> None:
        if self.total is None:
            self.total = p.astype(np.float32) if self.accumulation == "float32" else p
        elif self.accumulation == "float32":
            # widened as the add reads it (numpy's buffered cast): no float32 copy of the partial
            np.add(self.total, p.reshape(self.total.shape), out=self.total, dtype=np.float32)
        else:
            self.total = self.rnd(self.total.astype(np.float32) + p.astype(np.float32), self.dtype)

    def result(self) -> np.ndarray:
        if self.total is None:
            raise IndexError("an all-reduce of no partials")
        total, self.total = self.total, None
        return self.rnd(total, self.dtype) if self.accumulation == "float32" else total


def contributions(ranks, r: int, faults) -> list[np.ndarray]:
    """The stored partial(s) rank r puts into the all-reduce: x1 @ x2 (+ bias), in the output dtype.
    `ranks` is every rank's arguments (faults such as rank0-data read another rank's)."""
    return _stored(_operands(ranks, r, faults), r, len(ranks), faults)


def _operands(ranks, r: int, faults):
    t = own_arguments(ranks, r, faults)
    bias = t.get("bias")
    return (as_matrix(t["x1"]), faults.at(MARN_X2_MATRIX, as_matrix(t["x2"]), x2=t["x2"]),
            None if bias is None else as_matrix(bias).reshape(-1), t["x1"].dtype)


def _stored(operands, r: int, world: int, faults, rows: slice = slice(None)) -> list[np.ndarray]:
    """contributions() for rows `rows` of x1 (every step is row-independent)."""
    x1, x2, bias, dtype = operands
    x1 = x1[rows]
    part = faults.at(MARN_PRODUCT, x1 @ x2, x1=x1, x2=x2, dtype=dtype)
    if bias is not None and faults.at(MARN_BIAS_APPLIED, True, rank=r):
        part += bias
    part = faults.at(MARN_PARTIAL, part, rank=r)
    return faults.at(MARN_STORED_PARTIALS, [_rounder(faults, "partial_store")(part, dtype)], rank=r, world=world)


def reduce_partials(partials: list[np.ndarray], dtype: str, accumulation: str, faults) -> np.ndarray:
    """What every rank holds after the all-reduce (partials in rank order)."""
    return faults.at(MARN_REDUCED, allreduce(partials, dtype, accumulation, _rounder(faults, "allreduce_store")))


def _out_buffer(arg, dtype: str, m: int, n: int) -> np.ndarray:
    """The caller's output tensor as a writable (m, n) view if it is one (contiguous, of the output dtype),
    else a new array: the device writes its outputs into the buffers it is given."""
    data = None if arg is None else arg.data
    if (isinstance(data, np.ndarray) and data.dtype == dtypes.np_dtype(dtype) and data.flags.c_contiguous
            and data.flags.writeable and data.size == m * n):
        return data.reshape(m, n)
    return np.empty((m, n), dtypes.np_dtype(dtype))


def finish(op: str, mm: np.ndarray, t: dict, attrs: dict, faults,
           rms_source: str = "fp32_sum", out: dict | None = None) -> dict[str, np.ndarray]:
    """One rank's outputs from the reduced matmul and its own residual and gamma; `rms_source` (RMS_SOURCES)
    is the bf16 path (fp16 always normalises the rounded y). `out` (the rank's own arguments) names output
    buffers to write y and normOut into (never an input: the inplace y goes to a new array). Rows are
    computed in blocks (every step is elementwise or per row) unless the mean square is taken over rows (a
    fault's axis 0) and needs them all."""
    dtype = t["x1"].dtype
    res_arg = t["residual"]
    if mm.size == 0:  # empty b*s or n: nothing to compute, outputs keep their (empty) shapes
        empty = np.zeros(res_arg.shape, dtypes.np_dtype(dtype))
        return {operators.get(op).summed_output: empty, "normOut": empty.copy()}
    eps = np.float32(attrs["epsilon"])
    residual_all = np.asarray(res_arg.data).reshape(mm.shape)
    gamma = faults.at(MARN_GAMMA, as_matrix(t["gamma"]).reshape(-1))
    m, n = mm.shape
    inplace = operators.get(op).writes_inplace
    out = out or {}
    y_all = _out_buffer(None if inplace else out.get("y"), dtype, m, n)
    norm_all = _out_buffer(out.get("normOut"), dtype, m, n)
    ms_from, num_from = ("y", "y") if dtype == "float16" else RMS_SOURCES[rms_source]
    axis = faults.at(MARN_RMS_AXIS, 1)
    rows = max(1, FINISH_BLOCK_ELEMENTS // n)  # rows per block
    blocks = [(0, m)] if axis == 0 else [(lo, min(m, lo + rows)) for lo in range(0, m, rows)]
    perturbed = False  # hook site MARN_NORM_OUT_BLOCK: whether a fault already perturbed this rank's normOut
    for lo, hi in blocks:
        mm32 = mm[lo:hi].astype(np.float32)
        x = faults.at(MARN_RESIDUAL_SUM, np.add(mm32, residual_all[lo:hi], dtype=np.float32), mm=mm32)
        y = _rounder(faults, "y_store")(x, dtype)
        y_all[lo:hi] = y
        y32 = y.astype(np.float32)
        src = y32 if num_from == "y" else x
        with np.errstate(invalid="ignore", divide="ignore"):
            ms = np.mean(np.square(y32 if ms_from == "y" else x), axis=axis, keepdims=True, dtype=np.float32)
            rstd = faults.at(MARN_RSTD, 1.0 / np.sqrt(ms + eps), ms=ms, eps=eps)
        normed = _rounder(faults, "norm_store")(src * rstd.astype(np.float32), dtype)
        if gamma is None:
            norm_all[lo:hi] = normed
        else:
            norm32 = normed.astype(np.float32)
            norm32 *= gamma
            norm_all[lo:hi] = _rounder(faults, "gamma_store")(norm32, dtype)
            perturbed = faults.at(MARN_NORM_OUT_BLOCK, perturbed, block=norm_all[lo:hi], exact=norm32)
    shape = res_arg.shape
    y, norm_out = y_all.reshape(shape), norm_all.reshape(shape)
    if not inplace:
        return {"y": y, "normOut": norm_out}
    written = faults.at(MARN_INPLACE_WRITTEN, y, residual=res_arg, norm_out=norm_out)
    return {"residual": written, "normOut": faults.at(MARN_INPLACE_NORM_OUT, norm_out)}


def run(op: str, ranks, attrs: dict, faults, accumulation: str,
        rms_source: str = "fp32_sum") -> list[dict[str, np.ndarray]]:
    """All ranks in one process: the three phases in sequence (process mode runs them on each rank). The
    partials are summed as they are made (never all W held), and each rank writes into its own output
    buffers."""
    world, dtype = len(ranks), ranks[0]["x1"].dtype
    operands = [_operands(ranks, r, faults) for r in range(world)]
    m, n = operands[0][0].shape[0], operands[0][1].shape[1]
    rows = max(1, (1 << 19) // max(n, 1))
    mm = None
    for lo in range(0, max(m, 1), rows):  # the all-reduce of one row block at a time: no (m, n) float32 whole
        acc = Allreduce(dtype, accumulation, _rounder(faults, "allreduce_store"))
        for r in range(world):
            for p in _stored(operands[r], r, world, faults, slice(lo, lo + rows)):
                acc.add(p)
        block = acc.result()
        if mm is None:
            mm = np.empty((m,) + block.shape[1:], block.dtype)
        mm[lo:lo + rows] = block
    mm = faults.at(MARN_REDUCED, mm)
    held = faults.at(MARN_HELD, [mm] * world,
                     partials=lambda: [p for r in range(world) for p in _stored(operands[r], r, world, faults)],
                     reduce=lambda partials, accumulation: reduce_partials(partials, dtype, accumulation, faults))
    return [finish(op, held[r], own_arguments(ranks, r, faults), attrs, faults, rms_source, out=ranks[r])
            for r in range(len(ranks))]


def own_arguments(ranks, r: int, faults) -> dict:
    """The arguments rank r computes with (its own)."""
    return faults.at(MARN_OWN_ARGUMENTS, ranks[r], ranks=ranks, rank=r)


def rank_run(op: str, ranks, r: int, world_size: int, attrs: dict, allgather, faults,
             accumulation: str, rms_source: str) -> dict[str, np.ndarray]:
    """Rank r's outputs in process mode (sim/rank_program.py): its own partials, exchanged through
    `allgather` (every rank's value, in rank order), reduced, then finished with its own residual and gamma."""
    gathered = allgather(list(contributions(ranks, r, faults)))
    partials = [p for rank_parts in gathered for p in rank_parts]
    mm = reduce_partials(partials, ranks[0]["x1"].dtype, accumulation, faults)
    return finish(op, mm, own_arguments(ranks, r, faults), attrs, faults, rms_source)
