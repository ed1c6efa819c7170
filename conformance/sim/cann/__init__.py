"""`sim-cann`: the open-sourced CANN implementation of the three operators as a device model.

Where `conformance.sim` reproduces the documented contract, this package reproduces what the published
source does (hicann/ops-transformer at `model.REVISION`): its host checks in their order with their real
status codes and phases, the empty-tensor short-cuts, the tiling-time and launch-time failures, and the
kernels' rounding paths. Every rule cites the file and line it was read from.
"""
