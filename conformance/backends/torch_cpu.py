"""An independent correct backend on PyTorch's CPU kernels (optional: `pip install -e .[torch]`).

Its purpose is to show the tolerance model is not tuned to the simulator: it implements the same documented
contract with different, honest numerics.
- MARN: each rank's x1 @ x2 + bias is one `torch.addmm` in fp16/bf16 (PyTorch's own BLAS, its own
  accumulation order and blocking, bias inside the kernel); the all-reduce is a pairwise tree in the output
  dtype (HCCL's ring order differs, the bound allows either); RMSNorm is `torch.nn.functional.rms_norm` in fp32
  (one rounding of x * rstd * gamma where the device rounds twice), from the rounded y for fp16 and from the
  fp32 sum for bf16, as device-facts 3 documents.
- V3: the integer matmul runs in int64 on PyTorch's integer kernels; dequantisation in fp32 in another order
  (scales multiplied together first); low-bit communication without row blocks (each row's quantised values
  summed at once), round-half-even by `torch.round`, saturation by `clamp`.
Validation (what GetWorkspaceSize checks) is the contract itself, not numerics, so it reuses the operator's
own host checks (its record's `validate`). The operators it computes are the ones in `IMPLEMENTS`.
"""

from __future__ import annotations

import numpy as np

from .. import operators
from ..protocol import ACLNN_ERR_INNER, PHASE_WORKSPACE, Invocation, RankResult

try:
    import torch
    import torch.nn.functional as F
except ImportError as exc:  # an optional extra: say what is missing, in one line
    raise ImportError("the torch backend needs PyTorch: pip install -e .[torch] (or pip install torch)") from exc

_TORCH_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
                 "int8": torch.int8, "int32": torch.int32, "int64": torch.int64}


def to_torch(arr: np.ndarray, dtype: str) -> "torch.Tensor":
    a = np.ascontiguousarray(arr)
    if dtype == "bfloat16":
        return torch.from_numpy(a.view(np.int16).copy()).view(torch.bfloat16)
    if dtype == "uint64":
        return torch.from_numpy(a.view(np.int64).copy())
    return torch.from_numpy(a.copy())


def to_numpy(t: "torch.Tensor", dtype: str) -> np.ndarray:
    from .. import dtypes
    t = t.contiguous()
    if dtype == "bfloat16":
        return t.view(torch.int16).numpy().view(dtypes.np_dtype("bfloat16")).copy()
    return t.numpy().copy()


def _tree_sum(parts: list["torch.Tensor"]) -> "torch.Tensor":
    """Pairwise reduction in the parts' own dtype: ((p0 + p1) + (p2 + p3)) + ..."""
    while len(parts) > 1:
        parts = [parts[i] + parts[i + 1] if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
    return parts[0]


def _matrix(t, dtype):
    x = to_torch(np.asarray(t.data), dtype)
    return x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1]) if x.dim() != 2 else x


# The operators this backend computes, by record (conformance/operators/): the method that runs each. Any
# other operator is declared unsupported.
IMPLEMENTS = {
    operators.MARN.name: "_marn",
    operators.INPLACE.name: "_marn",
    operators.V3.name: "_v3",
}


class TorchCpuBackend:
    name = "torch-cpu"

    def describe(self) -> dict[str, str]:
        return {"backend": "torch-cpu (independent reference implementation)", "torch": torch.__version__,
                "threads": str(torch.get_num_threads())}

    def unsupported_reason(self, inv: Invocation) -> str | None:
        return None if inv.op in IMPLEMENTS else f"the torch-cpu backend does not implement {inv.op}"

    def invoke(self, inv: Invocation) -> list[RankResult]:
        return self._run(inv, chain=False)

    def invoke_chain(self, inv: Invocation) -> list[RankResult]:
        """The benchmark chain with torch's separate operators: matmul, + bias, all-reduce, AddRmsNorm (MARN);
        quantised matmul + dequant stored, + x3, all-reduce (V3). Each operator stores its output in the dtype."""
        return self._run(inv, chain=True)

    def _run(self, inv: Invocation, *, chain: bool) -> list[RankResult]:
        reason = self.unsupported_reason(inv)
        if reason:
            raise ValueError(f"{inv.case_id}: {reason}")
        validate = operators.get(inv.op).code("validate")
        results = []
        for tensors in inv.ranks:
            status, _, message = validate(inv.op, dict(tensors), dict(inv.attrs), inv.world_size)
            results.append(RankResult(status, {}, message, PHASE_WORKSPACE if status else ""))
        if inv.shape_only or any(r.status for r in results):
            return results
        try:
            with torch.no_grad():
                outs = getattr(self, IMPLEMENTS[inv.op])(inv, chain)
        except Exception as exc:
            return [RankResult(ACLNN_ERR_INNER, {}, f"torch failed: {type(exc).__name__}: {exc}") for _ in inv.ranks]
        return [RankResult(0, o) for o in outs]

    # --- MatmulAllReduceAddRmsNorm ---------------------------------------------------------------------------
    def _marn(self, inv, chain: bool = False):
        dtype = inv.ranks[0]["x1"].dtype
        if chain:
            return self._marn_chain(inv, dtype)
        parts = []
        for t in inv.ranks:
            x1 = _matrix(t["x1"], dtype)
            x2 = to_torch(np.asarray(t["x2"].data), dtype)  # a transposed view arrives as its values
            bias = t.get("bias")
            if x1.shape[0] == 0 or x2.shape[1] == 0:
                parts.append(torch.zeros(x1.shape[0], x2.shape[1], dtype=x1.dtype))
            elif bias is not None:
                parts.append(torch.addmm(to_torch(np.asarray(bias.data), dtype), x1, x2))
            else:
                parts.append(x1 @ x2)
        mm = _tree_sum(parts)
        eps = float(inv.attrs["epsilon"])
        outs = []
        for t in inv.ranks:
            shape = t["residual"].shape
            residual = _matrix(t["residual"], dtype)
            gamma = to_torch(np.asarray(t["gamma"].data), dtype).float()
            x = mm.float() + residual.float()
            y = x.to(mm.dtype)
            src = y.float() if dtype == "float16" else x
            if src.numel():
                norm = F.rms_norm(src, (src.shape[-1],), weight=gamma, eps=eps).to(mm.dtype)
            else:
                norm = src.to(mm.dtype)
            y_np = to_numpy(y.reshape(shape), dtype)
            norm_np = to_numpy(norm.reshape(shape), dtype)
            outs.append({operators.get(inv.op).summed_output: y_np, "normOut": norm_np})
        return outs

    def _marn_chain(self, inv, dtype):
        parts = []
        for t in inv.ranks:  # matmul stores in the dtype, the bias add stores again
            x1, x2 = _matrix(t["x1"], dtype), to_torch(np.asarray(t["x2"].data), dtype)
            part = (x1.float() @ x2.float()).to(x1.dtype)
            if t.get("bias") is not None:
                part = part + to_torch(np.asarray(t["bias"].data), dtype)
            parts.append(part)
        reduced = torch.stack(parts).float().sum(0).to(parts[0].dtype)  # HCCL: fp32 sum, one store
        eps, outs = float(inv.attrs["epsilon"]), []
        for t in inv.ranks:  # AddRmsNorm as its own operator: y = x1 + x2 stored, normalised from the stored y
            shape = t["residual"].shape
            y = reduced + _matrix(t["residual"], dtype)
            gamma = to_torch(np.asarray(t["gamma"].data), dtype).float()
            norm = F.rms_norm(y.float(), (y.shape[-1],), weight=gamma, eps=eps) if y.numel() else y.float()
            outs.append({operators.get(inv.op).summed_output: to_numpy(y.reshape(shape), dtype),
                         "normOut": to_numpy(norm.to(y.dtype).reshape(shape), dtype)})
        return outs

    # --- QuantMatmulAllReduceV3 --------------------------------------------------------------------------------
    @staticmethod
    def _scale(t):
        data = np.asarray(t.data).reshape(-1)
        if t.dtype in ("int64", "uint64"):  # FP19: the top 19 bits of the low 32-bit float
            words = torch.from_numpy(data.view(np.int64).copy())
            low = torch.bitwise_and(words, 0xFFFFE000).to(torch.int64)
            low = torch.where(low >= 2**31, low - 2**32, low).to(torch.int32)
            return low.view(torch.float32)
        return to_torch(data, t.dtype).float()

    def _v3(self, inv, chain: bool = False):
        from ..reference.v3 import x2_matrix
        out_spec = inv.ranks[0]["output"]
        out_dtype = _TORCH_DTYPES[out_spec.dtype]
        locals_ = []
        for t in inv.ranks:
            x1 = _matrix(t["x1"], "int8").to(torch.int64)
            x2 = torch.from_numpy(np.ascontiguousarray(x2_matrix(t["x2"]))).to(torch.int64)
            acc = x1 @ x2
            if t.get("bias") is not None:
                acc = acc + torch.from_numpy(np.asarray(t["bias"].data).astype(np.int64))
                acc = ((acc + 2**31) % 2**32) - 2**31  # the int32 accumulator wraps
            scale = self._scale(t["dequantScale"]).reshape(1, -1)
            if t.get("pertokenScale") is not None:  # both scales first, then one product with acc
                scale = torch.from_numpy(np.asarray(t["pertokenScale"].data)).reshape(-1, 1).float() * scale
            value = acc.to(torch.float32) * scale
            if chain:  # the quantised matmul stores its output; x3 is a separate add in the output dtype
                value = value.to(out_dtype)
            if t.get("x3") is not None:
                value = value + _matrix(t["x3"], out_spec.dtype).to(value.dtype)
            locals_.append(value.to(out_dtype))
        c1, c2 = inv.ranks[0].get("commQuantScale1"), inv.ranks[0].get("commQuantScale2")
        if c1 is not None and c2 is not None:
            s1 = to_torch(np.asarray(c1.data).reshape(-1), c1.dtype).float()
            s2 = to_torch(np.asarray(c2.data).reshape(-1), c2.dtype).float()
            q = [torch.clamp(torch.round((loc.float() / s1).to(torch.float16).float()), -128, 127) for loc in locals_]
            total = torch.stack(q).sum(0)
            r = torch.clamp(torch.round((total * (s1 / s2)).to(torch.float16).float()), -128, 127)
            result = (r * s2).to(out_dtype)
        else:  # reverse rank order, fp32 accumulation, one store
            result = torch.stack(locals_[::-1]).float().sum(0).to(out_dtype)
        out = to_numpy(result.reshape(out_spec.shape), out_spec.dtype)
        return [{operators.get(inv.op).summed_output: out.copy()} for _ in inv.ranks]
