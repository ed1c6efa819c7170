"""MatmulAllReduce: the operator record (see record.py).

Contract: mirror-cann/ops-transformer@c29bc10 mc2/matmul_all_reduce/docs/aclnnMatmulAllReduce.md, quoted in
conformance/spec/mar.py (the document is not among shared/docs). One output, identical on every rank (the all-reduced
x1 @ x2 + bias). torch_npu reaches it from npu_mm_all_reduce_base for fp16/bf16 inputs without x3
(backends/bindings/torch_npu_mar.py). Its own modules are listed in the record's `modules`.
"""

from __future__ import annotations

from .record import Abi, Operator, Ref

NAME = "MatmulAllReduce"
_B = "conformance.backends.bindings."

MAR = Operator(
    name=NAME, short="mar", doc="aclnnMatmulAllReduce.md",
    abi=Abi(f"aclnn{NAME}GetWorkspaceSize", f"aclnn{NAME}", ("x1", "x2", "bias"),
            ("group", "reduceOp", "commTurn", "streamMode"), ("output",), ("output",)),
    golden_wide=("odd-x1_2d-x2T-bias",),
    dtypes=("float16", "bfloat16"),  # x1, x2, bias and output share it
    dtype_arg="x1", shape_arg="output", summed_output="output",
    rank_local_args=(),  # every rank's output is the all-reduced result itself
    row_args=("x1", "output"),
    # no step of this operator has a legal alternative but the all-reduce's accumulation (MAR-AMB-003): its option
    path_option="allreduce_accumulation",
    path_own_branches=("MAR-",),  # the shared tiling's sides are reached by the family's cases (sim/cann/mar_paths.py)
    modules=("conformance/operators/mar.py", "conformance/spec/mar.py", "conformance/spec/mar_deviations.py",
             "conformance/casegen/mar.py",
             "conformance/validate/mar.py", "conformance/sim/mar_numerics.py", "conformance/sim/mar_faults.py",
             "conformance/sim/mar_chain.py", "conformance/sim/cann/mar_host.py", "conformance/sim/cann/mar_paths.py",
             "conformance/data/sim_cann_locations/mar.json",  # its host rules per source revision
             "conformance/reference/mar.py", "conformance/tolerance/mar_bounds.py",
             "conformance/tolerance/mar_check.py", "conformance/fuzz/mar.py",
             "conformance/backends/bindings/torch_cpu_mar.py", "conformance/backends/bindings/torch_npu_mar.py",
             "conformance/backends/bindings/aclnn_mar.py"),
    bindings=(("torch-cpu", Ref(_B + "torch_cpu_mar:run")), ("torch-npu", Ref(_B + "torch_npu_mar:BINDING")),
              ("aclnn", Ref(_B + "aclnn_mar:CHAIN"))),
    relations=frozenset({"cross_rank_identity", "determinism", "rank_permutation", "history_independence", "row_prefix",
                         "chain_matches"}),
    constraints=Ref("conformance.spec.mar:CONSTRAINTS"), ambiguities=Ref("conformance.spec.mar:AMBIGUITIES"),
    deviations=Ref("conformance.spec.mar_deviations:DEVIATIONS"),
    cases=Ref("conformance.casegen.mar:all_cases"), fuzz=Ref("conformance.fuzz.mar:valid"),
    validate=Ref("conformance.validate.mar:validate"),
    numerics=Ref("conformance.sim.mar_numerics:run"),
    rank_run=Ref("conformance.sim.mar_numerics:rank_run"),
    host_model=Ref("conformance.sim.cann.mar_host:check"),
    kernel_path=Ref("conformance.sim.cann.mar_host:kernel_path"),
    path_branches=Ref("conformance.sim.cann.mar_paths:BRANCHES"),
    path_decide=Ref("conformance.sim.cann.mar_paths:decide"),
    path_candidates=Ref("conformance.casegen.mar:path_candidates"),
    mutation_base=Ref("conformance.casegen.mar:mutation_base"), limit_cases=Ref("conformance.casegen.mar:limit_cases"),
    chain=Ref("conformance.sim.mar_chain:chain"), faults=Ref("conformance.sim.mar_faults:faults"),
    check=Ref("conformance.tolerance.mar_check:check"),
    golden_arrays=Ref("conformance.reference.mar:golden_arrays"),
    golden_drift=Ref("conformance.reference.mar:golden_drift"),
    precision_outputs=Ref("conformance.reference.mar:precision_outputs"),
    rank_bounds=Ref("conformance.tolerance.mar_bounds:rank_bounds"),
)
