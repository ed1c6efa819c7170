"""QuantMatmulAllReduceV3: the operator record (see record.py).

Contract: shared/docs/aclnnQuantMatmulAllReduceV3.md. One output, identical on every rank (the all-reduced
result). Its own modules are listed in the record's `modules`.
"""

from __future__ import annotations

from .record import Abi, Operator, Ref

NAME = "QuantMatmulAllReduceV3"

V3 = Operator(
    name=NAME, short="v3", doc="aclnnQuantMatmulAllReduceV3.md",
    abi=Abi(f"aclnn{NAME}GetWorkspaceSize", f"aclnn{NAME}",
            ("x1", "x2", "bias", "x3", "dequantScale", "pertokenScale", "commQuantScale1", "commQuantScale2"),
            ("group", "reduceOp", "commTurn", "streamMode"), ("output",), ("output",)),
    golden_wide=("odd-fp16_pt-x1_3d-x2nzT", "odd-bf16-x1_3d-x2nz-"),
    dtypes=("float16", "bfloat16"),  # the output's; the int8 inputs and the scales' dtypes follow from it (spec/v3.py)
    dtype_arg="output", shape_arg="output", summed_output="output",
    rank_local_args=(),  # every rank's output is the all-reduced result itself
    row_args=("x1", "x3", "pertokenScale", "output"),
    path_option="x3_rounding",  # V3-AMB-007: x3 added after the product's store or before it
    modules=("conformance/operators/v3.py", "conformance/spec/v3.py", "conformance/casegen/v3.py",
             "conformance/casegen/v3_layers.py",
             "conformance/validate/v3.py", "conformance/sim/v3_numerics.py", "conformance/sim/v3_faults.py",
             "conformance/sim/cann/v3_host.py", "conformance/sim/cann/v3_paths.py",
             "conformance/reference/v3.py", "conformance/tolerance/v3_bounds.py", "conformance/tolerance/v3_check.py",
             "conformance/quant.py", "conformance/fuzz/v3.py", "conformance/backends/bindings/torch_cpu_v3.py",
             "conformance/backends/bindings/torch_npu_v3.py", "conformance/backends/bindings/aclnn_v3.py",
             "conformance/casegen/v3_perf.py"),
    bindings=(("torch-cpu", Ref("conformance.backends.bindings.torch_cpu_v3:run")),
              ("torch-npu", Ref("conformance.backends.bindings.torch_npu_v3:BINDING")),
              ("aclnn", Ref("conformance.backends.bindings.aclnn_v3:CHAIN"))),
    relations=frozenset({"cross_rank_identity", "determinism", "rank_permutation", "history_independence", "row_prefix",
                         "chain_matches"}),
    constraints=Ref("conformance.spec.v3:CONSTRAINTS"), ambiguities=Ref("conformance.spec.v3:AMBIGUITIES"),
    cases=Ref("conformance.casegen.v3:all_cases"), fuzz=Ref("conformance.fuzz.v3:valid"),
    validate=Ref("conformance.validate.v3:validate"),
    numerics=Ref("conformance.sim.v3_numerics:run"),
    rank_run=Ref("conformance.sim.v3_numerics:rank_run"),
    host_model=Ref("conformance.sim.cann.v3_host:check"),
    kernel_path=Ref("conformance.sim.cann.v3_host:kernel_path"),
    path_branches=Ref("conformance.sim.cann.v3_paths:BRANCHES"),
    path_decide=Ref("conformance.sim.cann.v3_paths:decide"),
    path_candidates=Ref("conformance.casegen.v3:path_candidates"),
    mutation_base=Ref("conformance.casegen.v3:mutation_base"), limit_cases=Ref("conformance.casegen.v3:limit_cases"),
    chain=Ref("conformance.sim.chain:v3_chain"), faults=Ref("conformance.sim.v3_faults:faults"),
    perf_case=Ref("conformance.casegen.v3_perf:perf_case"),
    check=Ref("conformance.tolerance.v3_check:check"),
    golden_arrays=Ref("conformance.reference.v3:golden_arrays"),
    golden_drift=Ref("conformance.reference.v3:golden_drift"),
    precision_outputs=Ref("conformance.reference.v3:precision_outputs"),
    rank_bounds=Ref("conformance.tolerance.v3_bounds:rank_bounds"),
)
