"""`--backend sim-cann`: a device that behaves as the published source does, at a chosen source revision
(`--sim-cann-revision`, sim/cann/revisions.py: the baseline hicann/ops-transformer c29bc10, the release-branch heads
of CANN 8.5.0 to 9.1.0, and master; default the newest modelled).

Per rank the host model (marn_host / v3_host) answers with the status and phase the implementation gives;
inputs it accepts run through the contract simulator's numeric phases on the paths the kernels take:
- MatmulAllReduceAddRmsNorm bf16: the RMS source of the AddRmsNorm tiling mode (marn_host.addrmsnorm_mode and
  RMS_SOURCE); fp16 always the rounded y;
- QuantMatmulAllReduceV3: x3 added after the product is stored in the output dtype (v3_host.KERNEL_FACTS);
- a strided x2 that the host accepts is read as if it were contiguous (the first k*n elements of its buffer);
- the empty-tensor short-cut launches nothing: the output buffers come back as they were passed.
This is a behaviour model, not a second opinion on numerics: where the source and the documents disagree,
`conformance.spec.deviations` names the difference and the cases it fails.
"""

from __future__ import annotations

import dataclasses
import platform

import numpy as np

from ... import __version__, operators
from ...hooks import NO_HOOKS
from ...protocol import (ACLNN_ERR_INNER, HOST_MEMORY_LIMIT_BYTES, PHASE_LAUNCH, TARGET_SIMULATOR, Invocation,
                         RankResult, TensorArg)
from . import revisions


@dataclasses.dataclass(frozen=True)
class CannOptions:
    """Modelling inputs the source leaves to the platform (named, with the reason).

    vector_cores: GetCoreNumAiv() of the device; 48 on Atlas A2 910B1/B2, 40 on 910B3/B4 (UNCONFIRMED here).
    allreduce_accumulation: HCCL's accumulation of fp16/bf16 partials (not in the published source).
    The tile rows the AddRmsNorm mode is chosen with are the communication tile's M, picked by the formulaic
    tiling; the model takes m (b*s), the largest a tile can be: small shapes then take SingleN/MergeN
    (rounded y), wide n SplitD, the rest Normal (fp32 sum), as the tiling's branches do.
    """

    vector_cores: int = 48
    allreduce_accumulation: str = "float32"
    revision: str = revisions.DEFAULT  # the published source revision modelled (revisions.names())

    def __post_init__(self):
        revisions.get(self.revision)  # UnknownRevision (one line) for a revision that is not modelled


def read_as_contiguous(t: TensorArg) -> TensorArg:
    """The (k, n) x2 a kernel reads when it ignores the view's strides: k*n consecutive elements from the
    view's first element (within the buffer: a strided view spans at least that many)."""
    data = np.asarray(t.data)
    item = data.dtype.itemsize
    flat = np.lib.stride_tricks.as_strided(data, shape=(t.numel,), strides=(item,), writeable=False)
    dense = np.array(flat).reshape(t.shape)
    return TensorArg.from_array(dense, t.dtype, format=t.format)


def nz_storage_as_4d(t: TensorArg) -> TensorArg:
    """A FRACTAL_NZ x2 whose storage dims merge the tiling's first two axes (accepted by the host, v3_host):
    the kernel reads the same bytes as the 4-D tiling (n1, k1, 16, 32) of the (k, n) view."""
    k, n = t.shape[-2], t.shape[-1]
    if t.is_last_two_transposed and not t.is_contiguous:
        k, n = n, k
    data = np.asarray(t.data).reshape(-(-n // 32), -(-k // 16), 16, 32)
    return dataclasses.replace(t, storage_shape=data.shape, data=data)


class SimCannBackend:
    name = "sim-cann"

    def __init__(self, options: CannOptions | None = None, **_ignored):
        self.options = options or CannOptions()
        self.revision = revisions.get(self.options.revision)

    def describe(self) -> dict[str, str]:
        rev = self.revision
        return {"backend": f"sim-cann (device model of {rev.repo}@{rev.short}, {rev.name})", "target": TARGET_SIMULATOR,
                "suite_version": __version__,
                "numpy": np.__version__, "machine": platform.machine(),
                "source_revision": f"{rev.repo}@{rev.commit}", "source_revision_name": rev.name,
                "cann_version": rev.cann_version or f"source {rev.name}",
                "vector_cores": str(self.options.vector_cores),
                "allreduce_accumulation": self.options.allreduce_accumulation}

    def unsupported_reason(self, inv: Invocation) -> str | None:
        try:
            modelled = operators.get(inv.op).host_model is not None
        except operators.UnknownOperator:
            modelled = False
        return None if modelled else f"sim-cann does not model {inv.op}"

    def capacity_reason(self, estimate) -> str | None:
        """Every rank's tensors live in this process, as in the contract simulator: the same host-memory limit."""
        return estimate.exceeds(HOST_MEMORY_LIMIT_BYTES)

    def _host(self, inv: Invocation) -> tuple[list, list[RankResult]]:
        """The host path on every rank at the modelled revision: its verdicts, and the rank results they give
        (fused call and chain)."""
        check = operators.get(inv.op).host_model.load()
        verdicts = [check(inv.op, dict(t), dict(inv.attrs), inv.world_size, self.revision.name) for t in inv.ranks]
        return verdicts, [RankResult(v.status, {}, f"{v.rule}: {v.message}" if v.rule else v.message, v.phase)
                          for v in verdicts]

    def invoke(self, inv: Invocation) -> list[RankResult]:
        verdicts, results = self._host(inv)
        if inv.shape_only or any(v.status for v in verdicts):
            return results
        if not any(v.launched for v in verdicts):  # workspace 0: the launch call returns at once
            return [RankResult(0, _untouched(inv.op, t), verdicts[0].message) for t in inv.ranks]
        try:
            outs = kernel_outputs(inv.op, inv.ranks, inv.attrs, verdicts, self.options)
        except Exception as exc:  # the kernel met an input the host let through
            return [RankResult(ACLNN_ERR_INNER, {}, f"kernel failed: {type(exc).__name__}: {exc}", PHASE_LAUNCH)
                    for _ in inv.ranks]
        return [RankResult(0, o) for o in outs]

    def invoke_chain(self, inv: Invocation) -> list[RankResult]:
        """The benchmark chain (sim/chain.py) behind the same host checks as invoke (so the statuses match). The
        chain's separate operators read x2 as its view says (a 3-D NZ storage is re-read as its 4-D tiling)."""
        from ..chain import run_chain
        verdicts, results = self._host(inv)
        if inv.shape_only or any(v.status for v in verdicts):
            return results
        ranks = [dict(t) for t in inv.ranks]
        for t in ranks:
            if t.get("x2") is not None and t["x2"].format == "FRACTAL_NZ" and np.ndim(t["x2"].data) == 3:
                t["x2"] = nz_storage_as_4d(t["x2"])
        try:
            outs = run_chain(inv.op, ranks, inv.attrs)
        except Exception as exc:
            return [RankResult(ACLNN_ERR_INNER, {}, f"chain failed: {type(exc).__name__}: {exc}", PHASE_LAUNCH)
                    for _ in inv.ranks]
        return [RankResult(0, o) for o in outs]



def kernel_outputs(op: str, ranks, attrs, verdicts, options: CannOptions) -> list[dict[str, np.ndarray]]:
    """Every rank's outputs once every rank's host verdict accepted and launched: the kernels' reading of x2 (a
    strided x2 the host let through as contiguous, a 3-D NZ storage as its 4-D tiling), then the contract
    simulator's numerics on the path the published kernels take (the host model's `kernel_path`). Shared by
    SimCannBackend.invoke and the CPU twin's operators (conformance/twin/operators.py); whatever the numerics
    raise is the kernel's failure, for the caller to report."""
    ranks = [dict(t) for t in ranks]
    for t, v in zip(ranks, verdicts):
        if v.x2_read_contiguous:
            t["x2"] = read_as_contiguous(t["x2"])
        elif t["x2"] is not None and t["x2"].format == "FRACTAL_NZ" and np.ndim(t["x2"].data) == 3:
            t["x2"] = nz_storage_as_4d(t["x2"])
    record = operators.get(op)
    path = record.code("kernel_path")(ranks, options.vector_cores)
    return record.numerics(op, ranks, dict(attrs), NO_HOOKS, options.allreduce_accumulation, path)


def _untouched(op: str, t) -> dict[str, np.ndarray]:
    names = operators.get(op).outputs
    return {n: np.array(t[n].data, copy=True) for n in names if t.get(n) is not None and t[n].data is not None}
