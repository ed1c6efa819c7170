"""Conformance suite for Huawei Ascend MC2 fused matmul + all-reduce operators.

Data path (each layer knows only the one below it):
spec (constraints) -> casegen (cases) -> backend invocation per rank -> tolerance (comparison) -> report.
"""

__version__ = "0.1.0"
