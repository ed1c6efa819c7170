"""QuantMatmulAllReduce (V1): the operator record (see record.py).

Contract: aclnnQuantMatmulAllReduce.md in mirror-cann/ops-transformer@c29bc10 (conformance/spec/qmar.py quotes
it). The quantised all-reduce torch_npu's npu_mm_all_reduce_base reaches with int8 inputs, no pertoken scale and
no comm scales (bindings/torch_npu_qmar.py cites the dispatch). It is V3 without pertokenScale and without the
low-bit communication, so the arithmetic, reference, bound, checker and benchmark chain are V3's modules (its
torch-cpu and aclnn bindings re-export V3's), which read the arguments by name and ask the record for the
output's name; what is this operator's own is listed in `modules`.
"""

from __future__ import annotations

from .record import Abi, Operator, Ref

NAME = "QuantMatmulAllReduce"

QMAR = Operator(
    name=NAME, short="qmar", doc="aclnnQuantMatmulAllReduce.md (mirror-cann/ops-transformer@c29bc10)",
    abi=Abi(f"aclnn{NAME}GetWorkspaceSize", f"aclnn{NAME}", ("x1", "x2", "bias", "x3", "dequantScale"),
            ("group", "reduceOp", "commTurn", "streamMode"), ("output",), ("output",)),
    golden_wide=("odd-fp16_i64-x1_3d-x2nd-", "odd-bf16-x1_3d-x2ndT-"),
    dtypes=("float16", "bfloat16"),  # the output's; the int8 inputs and dequantScale's dtype follow (spec/qmar.py)
    dtype_arg="output", shape_arg="output", summed_output="output",
    rank_local_args=(),  # every rank's output is the all-reduced result itself
    row_args=("x1", "x3", "output"),
    path_option="x3_rounding",  # QMAR-AMB-005: x3 added after the product's store or before it
    modules=("conformance/operators/qmar.py", "conformance/spec/qmar.py", "conformance/spec/qmar_deviations.py",
             "conformance/casegen/qmar.py", "conformance/validate/qmar.py", "conformance/sim/qmar_numerics.py",
             "conformance/sim/qmar_faults.py", "conformance/sim/cann/qmar_host.py", "conformance/fuzz/qmar.py",
             "conformance/backends/bindings/torch_npu_qmar.py", "conformance/backends/bindings/torch_cpu_qmar.py",
             "conformance/backends/bindings/aclnn_qmar.py"),
    bindings=(("torch-cpu", Ref("conformance.backends.bindings.torch_cpu_qmar:run")),
              ("torch-npu", Ref("conformance.backends.bindings.torch_npu_qmar:BINDING")),
              ("aclnn", Ref("conformance.backends.bindings.aclnn_qmar:CHAIN"))),
    relations=frozenset({"cross_rank_identity", "determinism", "rank_permutation", "history_independence", "row_prefix",
                         "chain_matches"}),
    small_cases=("tiny-fp16_i64-x1_3d-x2nd-bias-deq1n-x3-fp16-w2", "tiny-bf16-x1_2d-x2nd-bias-deq1n-x3-bf16-w2"),
    constraints=Ref("conformance.spec.qmar:CONSTRAINTS"), ambiguities=Ref("conformance.spec.qmar:AMBIGUITIES"),
    deviations=Ref("conformance.spec.qmar_deviations:DEVIATIONS"),
    cases=Ref("conformance.casegen.qmar:all_cases"), fuzz=Ref("conformance.fuzz.qmar:valid"),
    validate=Ref("conformance.validate.qmar:validate"),
    numerics=Ref("conformance.sim.qmar_numerics:run"),
    rank_run=Ref("conformance.sim.qmar_numerics:rank_run"),
    host_model=Ref("conformance.sim.cann.qmar_host:check"),
    kernel_path=Ref("conformance.sim.cann.qmar_host:kernel_path"),
    # the path model is V3's (the same kernels and tiling; branches shared by id, so coverage is their union); what
    # this operator's own cases must reach are the decisions on what it passes the kernel (casegen/qmar.py)
    path_branches=Ref("conformance.sim.cann.v3_paths:BRANCHES"),
    path_decide=Ref("conformance.sim.cann.v3_paths:decide"),
    path_candidates=Ref("conformance.casegen.qmar:path_candidates"),
    path_own_branches=("V3-KERNEL-VARIANT", "V3-DEQUANT-SCALE-MODE", "V3-BIAS", "V3-X3", "V3-X2-"),
    mutation_base=Ref("conformance.casegen.qmar:mutation_base"),
    limit_cases=Ref("conformance.casegen.qmar:limit_cases"),
    chain=Ref("conformance.sim.chain:v3_chain"), faults=Ref("conformance.sim.qmar_faults:faults"),
    check=Ref("conformance.tolerance.v3_check:check"),
    golden_arrays=Ref("conformance.reference.v3:golden_arrays"),
    golden_drift=Ref("conformance.reference.v3:golden_drift"),
    precision_outputs=Ref("conformance.reference.v3:precision_outputs"),
    rank_bounds=Ref("conformance.tolerance.v3_bounds:rank_bounds"),
)
