"""fp32 reference of MatmulAllReduceAddRmsNorm:

    mm_out = sum_r (x1_r @ x2_r + bias_r)        bias counted once per rank (device-facts 2)
    y_r    = mm_out + residual_r                  each rank has its own residual ...
    normOut_r = y_r / sqrt(mean(y_r^2) + eps) * gamma_r   ... and its own gamma

Inputs are upcast exactly to float32 (fp16 and bf16 are subsets of fp32) and multiplied with BLAS `@`
(toolchain-notes: never np.dot/einsum on bf16). Beside the values, the reference returns the magnitudes the
tolerance model scales with: P = sum_r (|x1_r @ x2_r| + |bias_r|) and an upper bound of A = sum_r |x1_r| @ |x2_r|.
(P uses |x1 @ x2| + |bias| rather than |x1 @ x2 + bias|: where the bias is added, in the fp32 accumulator or
after the product is stored in the output dtype, is undocumented (MARN-AMB-006), and a bias that cancels
the product must not shrink the allowance for the product's rounding.)
A only scales the fp32 accumulation term of the bound; computing it exactly would cost a second GEMM per
rank, so it is replaced by its Cauchy-Schwarz bound sum_r ||x1_r[i, :]||_2 ||x2_r[:, j]||_2 (>= A, O(mk + kn)
plus one (m, W) @ (W, n) product). On uniform data that is ~1.33 A, on a term ~3% of the y bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import operators
from ..dtypes import U32
from ..protocol import Invocation, TensorArg
from ..tolerance.accumulation import dot_bound


def as_matrix(t: TensorArg) -> np.ndarray:
    """The tensor's values as a float32 (rows, last-dim) matrix; x1 (b, s, k) becomes (b*s, k)."""
    a = np.asarray(t.data).astype(np.float32, copy=False)
    if a.ndim == 2:
        return a
    return a.reshape(int(np.prod(a.shape[:-1], dtype=np.int64)), a.shape[-1]) if a.ndim else a.reshape(1, 1)


@dataclass
class ReducedMatmul:
    mm_out: np.ndarray  # (m, n) float32: sum over ranks of x1 @ x2 + bias
    abs_products: np.ndarray  # >= A = sum over ranks of |x1| @ |x2| (Cauchy-Schwarz, see module doc)
    abs_partials: np.ndarray  # P: sum over ranks of |x1 @ x2| + |bias|
    k: int
    world_size: int


BLOCK_ELEMENTS = 1 << 19  # elements of one row block (2 MiB of float32) in the row-blocked check


def row_blocks(m: int, n: int, block_elements: int = BLOCK_ELEMENTS) -> list[tuple[int, int]]:
    """(lo, hi) row ranges of about `block_elements` elements each, covering m rows of n columns."""
    rows = max(1, block_elements // max(n, 1))
    return [(lo, min(m, lo + rows)) for lo in range(0, m, rows)] or [(0, 0)]


class BlockedReduction:
    """`reduced_matmul` one row block at a time: every quantity is elementwise or per row, so `block(lo, hi)` is
    rows lo:hi of `reduced_matmul(inv)` up to the float32 products' own rounding, and a large case never holds its
    (m, n) float32 magnitudes whole. The products are bit-identical on row blocks only with some BLAS kernels
    (OpenBLAS SkylakeX, Sandybridge, Prescott); Haswell/Zen kernels (AMD EPYC) round 2-4 % of a block's products
    differently in the last bits. Either way the difference is within the reference's own fp32 error, which the
    bound already carries (tests/test_blocked_check.py states what is guaranteed)."""

    def __init__(self, inv: Invocation):
        self.x1, self.x2, self.bias = [], [], []
        row_norms, col_norms = [], []
        for tensors in inv.ranks:
            x1, x2 = as_matrix(tensors["x1"]), as_matrix(tensors["x2"])
            self.x1.append(x1)
            self.x2.append(x2)
            self.bias.append(as_matrix(tensors["bias"]).reshape(-1) if tensors.get("bias") is not None else None)
            row_norms.append(np.sqrt(np.einsum("ik,ik->i", x1, x1, dtype=np.float64)))
            col_norms.append(np.sqrt(np.einsum("kj,kj->j", x2, x2, dtype=np.float64)))
        self.k = self.x1[-1].shape[1]
        self.world_size = inv.world_size
        self.shape = (self.x1[0].shape[0], self.x2[0].shape[1])
        self._rows = np.stack(row_norms, axis=1)  # (m, W)
        self._cols = np.stack(col_norms, axis=0)  # (W, n)
        self._group_rows = max(1, GROUP_ELEMENTS // max(self.shape[1], 1))

    def block(self, lo: int, hi: int) -> ReducedMatmul:
        mm = absP = None
        for x1, x2, bias in zip(self.x1, self.x2, self.bias):
            part = x1[lo:hi] @ x2  # one product per row block: its bits may depend on the block (class doc)
            if mm is None:
                mm, absP = part, np.abs(part)
                if bias is not None:
                    mm += bias
                    absP += np.abs(bias)
            else:  # mm += part + bias, absP += |part| + |bias|: the same two sums, group by group in cache
                for a in range(0, part.shape[0], self._group_rows):
                    _accumulate(mm[a:a + self._group_rows], absP[a:a + self._group_rows],
                                part[a:a + self._group_rows], bias)
        # (m, W) @ (W, n): sum over ranks of outer(row norms, column norms); rounded up by one part in 2^20
        absA = self._rows[lo:hi] @ self._cols
        absA *= 1 + 2.0**-20
        return ReducedMatmul(mm, absA.astype(np.float32), absP, self.k, self.world_size)


GROUP_ELEMENTS = 1 << 16  # elements of the row groups elementwise sums run on (their temporaries stay in cache)


def _accumulate(mm: np.ndarray, abs_partials: np.ndarray, part: np.ndarray, bias: np.ndarray | None) -> None:
    """mm += part + bias and abs_partials += |part| + |bias| (bias None: not added), in place."""
    mag = np.abs(part)
    if bias is not None:
        mag += np.abs(bias)
        part += bias
    abs_partials += mag
    mm += part


def reduced_matmul(inv: Invocation) -> ReducedMatmul:
    src = BlockedReduction(inv)
    return src.block(0, src.shape[0])


def rstd_of(y: np.ndarray, epsilon: float) -> np.ndarray:
    """1 / sqrt(mean(y^2) + eps) over the last axis, in float32, shape (m, 1)."""
    ms = np.einsum("ij,ij->i", y, y, dtype=np.float32)[:, None] / np.float32(max(y.shape[1], 1))
    return (1.0 / np.sqrt(ms + np.float32(epsilon))).astype(np.float32)


def rank_outputs(red: ReducedMatmul, residual: np.ndarray, gamma: np.ndarray, epsilon: float):
    """(y, normOut, rstd) in float32 for one rank, from its float32 residual (m, n) and gamma (n,);
    rstd has shape (m, 1)."""
    y = red.mm_out + residual
    rstd = rstd_of(y, epsilon)
    norm = y * rstd
    norm *= gamma
    return y, norm, rstd


# ---- what the generic layers take from the reference (the operator records point here) ----------------------

def golden_arrays(inv: Invocation) -> dict[str, np.ndarray]:
    """The reference arrays frozen in golden/: every rank's y and normOut in float32, as `y.<r>`, `normOut.<r>`."""
    red = reduced_matmul(inv)
    out = {}
    for r, tensors in enumerate(inv.ranks):
        y, norm, _ = rank_outputs(red, as_matrix(tensors["residual"]),
                                  as_matrix(tensors["gamma"]).reshape(-1), float(inv.attrs["epsilon"]))
        out[f"y.{r}"], out[f"normOut.{r}"] = y, norm
    return out


def reevaluation_tolerance(red: ReducedMatmul) -> np.ndarray:
    """How far two float32 evaluations of the same reduced matmul may differ (BLAS order differs between
    machines): 2 dot_bound(k) |x1||x2| + a few u32 of the summed terms."""
    return 2 * dot_bound(red.k) * red.abs_products + 16 * U32 * (red.abs_partials + 1)


def golden_drift(inv: Invocation, live: dict, frozen: dict) -> list[str]:
    """The arrays whose live values left the frozen ones by more than two evaluations may differ: the reduced
    matmul's re-evaluation tolerance on y, a relative 1e-5 on normOut."""
    red = reduced_matmul(inv)
    tol_y = reevaluation_tolerance(red)
    moved = []
    for r in range(inv.world_size):
        if not np.all(np.abs(live[f"y.{r}"] - frozen[f"y.{r}"]) <= tol_y):
            moved.append(f"y.{r}")
        if not np.allclose(live[f"normOut.{r}"], frozen[f"normOut.{r}"], rtol=1e-5, atol=1e-6):
            moved.append(f"normOut.{r}")
    return moved


def precision_ranks(inv: Invocation) -> list[int]:
    """The ranks the precision standard compares: every rank, or rank 0 alone past 2**22 elements in all."""
    n = int(np.prod(inv.ranks[0]["residual"].shape, dtype=np.int64))
    return list(range(inv.world_size)) if n * inv.world_size <= (1 << 22) else [0]


def precision_outputs(inv: Invocation, expected: dict | None = None) -> tuple[dict[str, list[np.ndarray]], list[int]]:
    """The suite's reference per output name (the summed output under the operator's name for it, and
    normOut), one array per compared rank, and those ranks (precision_ranks). From the golden arrays
    `expected` where they hold every compared rank, else computed."""
    y_name = operators.get(inv.op).summed_output
    ranks = precision_ranks(inv)
    if expected is not None and all(f"y.{r}" in expected for r in ranks):
        return {y_name: [np.asarray(expected[f"y.{r}"]) for r in ranks],
                "normOut": [np.asarray(expected[f"normOut.{r}"]) for r in ranks]}, ranks
    red = reduced_matmul(inv)
    out = {y_name: [], "normOut": []}
    for r in ranks:
        t = inv.ranks[r]
        y, norm, _ = rank_outputs(red, as_matrix(t["residual"]).reshape(red.mm_out.shape),
                                  as_matrix(t["gamma"]).reshape(-1), float(inv.attrs["epsilon"]))
        out[y_name].append(y)
        out["normOut"].append(norm)
    return out, ranks
