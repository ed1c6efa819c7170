"""An independent correct backend on PyTorch's CPU kernels (optional: `pip install -e .[torch]`).

Its purpose is to show the tolerance model is not tuned to the simulator: it implements the same documented
contract with different, honest numerics. What it computes for each operator is that operator's binding
(conformance/backends/bindings/torch_cpu_*.py), which the operator's record names (`bindings["torch-cpu"]`): a
function `run(inv, chain) -> [{output name: array} per rank]`, built on the helpers here. An operator whose
record names none is declared unsupported.
Validation (what GetWorkspaceSize checks) is the contract itself, not numerics, so it reuses the operator's
own host checks (its record's `validate`).
"""

from __future__ import annotations

import numpy as np

from .. import operators
from . import binding_of
from ..protocol import (ACLNN_ERR_INNER, HOST_MEMORY_LIMIT_BYTES, PHASE_WORKSPACE, TARGET_CPU_REFERENCE, Invocation,
                        RankResult)

try:
    import torch
except ImportError as exc:  # an optional extra: say what is missing, in one line
    raise ImportError("the torch backend needs PyTorch: pip install -e .[torch] (or pip install torch)") from exc

TORCH_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
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


def tree_sum(parts: list["torch.Tensor"]) -> "torch.Tensor":
    """Pairwise reduction in the parts' own dtype: ((p0 + p1) + (p2 + p3)) + ..."""
    while len(parts) > 1:
        parts = [parts[i] + parts[i + 1] if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
    return parts[0]


def matrix(t, dtype):
    """A tensor argument's values as a 2-D torch matrix (all but the last dimension flattened)."""
    x = to_torch(np.asarray(t.data), dtype)
    return x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1]) if x.dim() != 2 else x


KIND = "torch-cpu"  # the key of this backend's bindings in the operator records


class TorchCpuBackend:
    name = "torch-cpu"

    def describe(self) -> dict[str, str]:
        return {"backend": "torch-cpu (independent reference implementation)", "target": TARGET_CPU_REFERENCE,
                "torch": torch.__version__,
                "threads": str(torch.get_num_threads())}

    def unsupported_reason(self, inv: Invocation) -> str | None:
        return None if binding_of(inv.op, KIND) is not None else f"the torch-cpu backend does not implement {inv.op}"

    def capacity_reason(self, estimate) -> str | None:
        """Every rank's tensors live in this process: the simulators' host-memory limit (its own peak was not
        calibrated; the simulator's estimate stands for it)."""
        return estimate.exceeds(HOST_MEMORY_LIMIT_BYTES)

    def invoke(self, inv: Invocation) -> list[RankResult]:
        return self._run(inv, chain=False)

    def invoke_chain(self, inv: Invocation) -> list[RankResult]:
        """The benchmark chain with torch's separate operators, as the operator's binding runs it (each operator
        stores its output in the dtype)."""
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
                outs = binding_of(inv.op, KIND)(inv, chain)
        except Exception as exc:
            return [RankResult(ACLNN_ERR_INNER, {}, f"torch failed: {type(exc).__name__}: {exc}") for _ in inv.ranks]
        return [RankResult(0, o) for o in outs]
