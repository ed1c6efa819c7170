"""MatmulAllReduce's benchmark chain on the CPU (the record's `chain`; sim/chain.py says what a chain is): the
separate operators the fused one replaces, each storing its output in the output dtype. Per rank r:
    mm_r   = round(x1_r @ x2_r)            matmul (fp32 accumulation, BLAS), stored
    mm_r   = round(mm_r + bias_r)          the bias as its own add (when there is a bias), stored
    output = round(sum_r fp32(mm_r))       all-reduce: fp32 sum, one store, the same on every rank
These are MatmulAllReduceAddRmsNorm's chain up to its AddRmsNorm (the same functions of sim/chain.py).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .chain import _marn_rank_partial, allreduce_hccl


def chain(op: str, ranks: list[dict], attrs: dict) -> list[dict[str, np.ndarray]]:
    dtype = ranks[0]["x1"].dtype
    shape = tuple(ranks[0]["output"].shape)
    if int(np.prod(shape, dtype=np.int64)) == 0:
        return [{"output": np.zeros(shape, dtypes.np_dtype(dtype))} for _ in ranks]
    out = allreduce_hccl([_marn_rank_partial(t) for t in ranks], dtype).reshape(shape)
    return [{"output": out.copy()} for _ in ranks]
