"""Numeric checks of one MatmulAllReduceAddRmsNorm(-Inplace) invocation's outputs, rank by rank."""

from __future__ import annotations

import numpy as np

from ..reference.marn import ReducedMatmul, as_matrix, rank_outputs, reduced_matmul, rstd_of
from .. import dtypes
from . import compare, marn_bounds
from .metrics import vendor_metrics


def check(inv, results, *, exact: bool, exact_outputs=None, accumulation: str = "probabilistic",
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
    inplace = inv.op.startswith("Inplace")
    y_name = "residual" if inplace else "y"
    red: ReducedMatmul = reduced_matmul(inv)
    eps = float(inv.attrs["epsilon"])
    metrics = {}
    shared = None
    for r, (tensors, res) in enumerate(zip(inv.ranks, results)):
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
