"""Conformance suite for Huawei Ascend MC2 fused matmul + all-reduce operators.

Data path (each layer knows only the one below it):
spec (constraints) -> casegen (cases) -> backend invocation per rank -> tolerance (comparison) -> report.
"""

__version__ = "0.1.0"

import os as _os

# torch loads every installed out-of-tree device backend on `import torch` (its entry point
# torch.backends: torch_npu registers one). Where torch-npu is installed without CANN (the `torch-npu` extra on a
# machine whose CANN is the twin, or none), that import fails, and with it the independent torch-cpu backend. The
# suite imports torch_npu explicitly where it needs it (the torch-npu backend's rank processes), so it turns the
# automatic load off for itself and its child processes unless the caller chose otherwise.
_os.environ.setdefault("TORCH_DEVICE_BACKEND_AUTOLOAD", "0")
