"""Numeric checks of one MatmulAllReduceAddRmsNorm(-Inplace) invocation's outputs, rank by rank."""

from __future__ import annotations

import numpy as np

from ..reference.marn import (BlockedReduction, ReducedMatmul, as_matrix, rank_outputs, reduced_matmul,
                               row_blocks, rstd_of)
from .. import dtypes, operators
from . import compare, marn_bounds
from .metrics import sample_step, sampled_vendor_metrics, vendor_metrics
from .accumulation import DEFAULT_ACCUMULATION

BLOCKED_MIN_ELEMENTS = 1 << 22  # outputs from this size up are checked in row blocks (see _check_blocked)
# elements of the row groups a row block's elementwise work runs on: a group's dozen float32 temporaries stay
# in a core's L2 cache, where a whole block's (2 MiB each) went to memory; the values are the same
SUB_BLOCK_ELEMENTS = 1 << 16


def check(inv, results, *, exact: bool, exact_outputs=None, accumulation: str = DEFAULT_ACCUMULATION,
          with_metrics: bool = True, expected: dict | None = None):
    """Yield compare.Check objects; the reference is computed once and consumed rank by rank.

    `expected` (frozen golden outputs, keys "y.<rank>" and "normOut.<rank>") replaces the live reference
    values; the magnitudes the bound scales with still come from the live inputs.
    Exact cases compare `exact_outputs` (default y) bit for bit with the reference rounded to the output dtype;
    the case design guarantees that rounding is unambiguous (tests/test_casegen.py checks the tie distance).

    The rounding-balance test runs on y only. normOut's errors share one rstd per row, and a correct kernel may
    take rstd from the rounded y (device-facts 3): that moves a whole row's errors in one direction, so a
    balance test on normOut would fail correct devices depending on the seed."""
    exact_outputs = tuple(exact_outputs or (("y",) if exact else ()))
    if expected is None and not exact_outputs and _blockable(inv, results):
        yield from _check_blocked(inv, results, accumulation=accumulation, with_metrics=with_metrics)
        return
    yield from _check_whole(inv, results, exact_outputs=exact_outputs, accumulation=accumulation,
                            with_metrics=with_metrics, expected=expected)


def _check_whole(inv, results, *, exact_outputs, accumulation, with_metrics, expected, only_rank=None):
    """The check on whole (m, n) arrays; `only_rank` limits it to one rank's numeric checks (the rerun of a
    failing blocked check)."""
    inplace = operators.get(inv.op).writes_inplace  # the twin that writes y into its residual
    y_name = operators.get(inv.op).summed_output
    red: ReducedMatmul = reduced_matmul(inv)
    eps = float(inv.attrs["epsilon"])
    metrics = {}
    shared = None
    for r, (tensors, res) in enumerate(zip(inv.ranks, results)):
        if only_rank is not None and r != only_rank:
            continue
        dtype = tensors["x1"].dtype
        shape = tensors["residual"].shape
        outputs = {}
        for name in (y_name, "normOut"):
            out = res.outputs.get(name)
            label = f"rank {r} {name}"
            if out is None:
                yield compare.Check(label, False, f"{label}: missing from the backend's outputs")
                continue
            out = np.asarray(out)
            problem = None
            if tuple(out.shape) != tuple(shape):
                problem = f"shape {tuple(out.shape)}, expected {tuple(shape)}"
            elif str(out.dtype) != dtype:
                problem = f"dtype {out.dtype}, expected {dtype}"
            if problem:
                yield compare.Check(label, False, f"{label}: {problem}")
                continue
            outputs[name] = out.reshape(red.mm_out.shape)
        if len(outputs) < 2 or red.mm_out.size == 0:
            continue
        if shared is None:
            shared = marn_bounds.y_bound_shared(red, dtype, accumulation)
        residual, gamma = as_matrix(tensors["residual"]), as_matrix(tensors["gamma"]).reshape(-1)
        if expected is None:
            y_ref, norm_ref, rstd = rank_outputs(red, residual, gamma, eps)
        else:
            y_ref, norm_ref = expected[f"y.{r}"], expected[f"normOut.{r}"]
            rstd = rstd_of(y_ref, eps)
        y_label, n_label = f"rank {r} {'y (in residual)' if inplace else 'y'}", f"rank {r} normOut"
        e_y = marn_bounds.y_bound(shared, y_ref, residual, red, dtype)
        y_out, n_out = compare.to_f32(outputs[y_name]), compare.to_f32(outputs["normOut"])
        if "y" in exact_outputs:
            yield compare.exact(y_label, y_out, dtypes.round_to(y_ref, dtype).astype(np.float32))
        else:
            yield from compare.bounded(y_label + ": error bound", y_out, y_ref, e_y,
                                       balance_name=y_label + ": rounding balance")
        if "normOut" in exact_outputs:
            yield compare.exact(n_label, n_out, dtypes.round_to(norm_ref, dtype).astype(np.float32))
        else:
            e_n = marn_bounds.norm_bound(y_ref, e_y, rstd, gamma, eps, dtype)
            yield from compare.bounded(n_label + ": error bound", n_out, norm_ref, e_n)
        if with_metrics and r == 0:
            metrics = {"y": vendor_metrics(y_out, y_ref, dtype), "normOut": vendor_metrics(n_out, norm_ref, dtype)}
    if metrics:
        yield compare.Check("vendor metrics (rank 0)", True, "informative", {"vendor_metrics": metrics})


def _outputs(inv, results, y_name):
    """Every rank's (y, normOut) as (m, n) views if all are present with the right shape and dtype, else None."""
    found = []
    for tensors, res in zip(inv.ranks, results):
        pair = []
        for name in (y_name, "normOut"):
            out = res.outputs.get(name)
            if out is None:
                return None
            out = np.asarray(out)
            if tuple(out.shape) != tuple(tensors["residual"].shape) or str(out.dtype) != tensors["x1"].dtype:
                return None
            pair.append(out)
        found.append(pair)
    return found


def _blockable(inv, results) -> bool:
    """Large outputs, all present and well-formed, every x1 a C-contiguous matrix (row blocks are views)."""
    if len(results) != len(inv.ranks) or not inv.ranks:
        return False
    shape = inv.ranks[0]["residual"].shape
    m_n = int(np.prod(shape, dtype=np.int64))
    y_name = operators.get(inv.op).summed_output
    return (m_n >= BLOCKED_MIN_ELEMENTS and _outputs(inv, results, y_name) is not None
            and all(np.asarray(t["x1"].data).flags.c_contiguous for t in inv.ranks))


def _matrix_view(a: np.ndarray, m: int, n: int) -> np.ndarray:
    return np.asarray(a).reshape(m, n)


def _check_blocked(inv, results, *, accumulation, with_metrics):
    """The same checks as _check_whole, computed one row block at a time over all ranks, so no (m, n) float32
    array is ever held whole (a tensor-parallel layer's outputs are 10^8 elements per rank). Every quantity
    is elementwise or per row and the block's arithmetic is the whole array's, so the checks are the same up to
    the reference products' last bits, which some BLAS kernels round differently per row block (reference.marn
    BlockedReduction); a failing bound check is rerun whole for its rank (compare.BoundedBlocks)."""
    inplace = operators.get(inv.op).writes_inplace  # the twin that writes y into its residual
    y_name = operators.get(inv.op).summed_output
    src = BlockedReduction(inv)
    m, n = src.shape
    eps = float(inv.attrs["epsilon"])
    outs = _outputs(inv, results, y_name)
    ranks = []
    for r, tensors in enumerate(inv.ranks):
        y_label, n_label = f"rank {r} {'y (in residual)' if inplace else 'y'}", f"rank {r} normOut"
        ranks.append({
            "dtype": tensors["x1"].dtype,
            "residual": _matrix_view(tensors["residual"].data, m, n),
            "gamma": as_matrix(tensors["gamma"]).reshape(-1),
            "y_out": _matrix_view(outs[r][0], m, n), "n_out": _matrix_view(outs[r][1], m, n),
            "y": compare.BoundedBlocks(y_label + ": error bound", balance_name=y_label + ": rounding balance"),
            "norm": compare.BoundedBlocks(n_label + ": error bound"),
        })
    step = sample_step(m * n)
    samples = {"y": [], "normOut": []}
    shared_dtype = ranks[0]["dtype"]
    for rk in ranks:
        rk["floor"] = marn_bounds.norm_floor(rk["gamma"], rk["dtype"])
    sub_rows = max(1, SUB_BLOCK_ELEMENTS // max(n, 1))
    for lo, hi in row_blocks(m, n):
        block = src.block(lo, hi)  # the reference products are made per row block (their bits depend on it)
        for a in range(0, hi - lo, sub_rows):  # the elementwise and per-row work, on cache-sized row groups
            b = min(hi - lo, a + sub_rows)
            red = ReducedMatmul(block.mm_out[a:b], block.abs_products[a:b], block.abs_partials[a:b],
                                block.k, block.world_size)
            rows = slice(lo + a, lo + b)
            shared = marn_bounds.y_bound_shared(red, shared_dtype, accumulation)
            for r, rk in enumerate(ranks):
                dtype = rk["dtype"]
                residual = rk["residual"][rows].astype(np.float32)
                y_ref, norm_ref, rstd = rank_outputs(red, residual, rk["gamma"], eps)
                abs_y = np.abs(y_ref)
                e_y = marn_bounds.y_bound(shared, y_ref, residual, red, dtype, abs_y=abs_y)
                rk["y"].add(rk["y_out"][rows], y_ref, e_y)
                e_n = marn_bounds.norm_bound(y_ref, e_y, rstd, rk["gamma"], eps, dtype, abs_y=abs_y,
                                             floor=rk["floor"])
                rk["norm"].add(rk["n_out"][rows], norm_ref, e_n)
                if with_metrics and r == 0:
                    first = -(-rows.start * n // step) * step - rows.start * n  # the first sampled flat element
                    # copies: a strided view would keep the whole group's reference alive until the end
                    samples["y"].append(y_ref.reshape(-1)[first::step].copy())
                    samples["normOut"].append(norm_ref.reshape(-1)[first::step].copy())
    for r, rk in enumerate(ranks):
        if rk["y"].failed or rk["norm"].failed:
            yield from _check_whole(inv, results, exact_outputs=(), accumulation=accumulation, with_metrics=False,
                                    expected=None, only_rank=r)
            continue
        yield from rk["y"].checks()
        yield from rk["norm"].checks()
    if with_metrics:
        metrics = {name: sampled_vendor_metrics(ranks[0][out].reshape(-1)[::step], np.concatenate(samples[name]),
                                                m * n, ranks[0]["dtype"])
                   for name, out in (("y", "y_out"), ("normOut", "n_out"))}
        yield compare.Check("vendor metrics (rank 0)", True, "informative", {"vendor_metrics": metrics})
