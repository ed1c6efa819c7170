"""MatmulAllReduceAddRmsNorm and its declared inplace twin: the operator records (see record.py).

Contract: shared/docs/aclnnMatmulAllReduceAddRmsNorm.md (both operators). The out-of-place operator writes y;
the inplace one writes y into its residual buffer (the document's "Inplace" prototype has no y argument).
Its own modules are listed in `MODULES` (the records' `modules`).
"""

from __future__ import annotations

from .record import Abi, Operator, Ref

NAME = "MatmulAllReduceAddRmsNorm"
INPLACE_NAME = "InplaceMatmulAllReduceAddRmsNorm"

_INPUTS = ("x1", "x2", "bias", "residual", "gamma")
_SCALARS = ("epsilon", "group", "reduceOp", "commTurn", "streamMode")

# the modules that belong to these two operators: each may name them; generic code never does
MODULES = ("conformance/operators/marn.py", "conformance/spec/marn.py", "conformance/casegen/marn.py",
           "conformance/casegen/marn_layers.py",
           "conformance/validate/marn.py", "conformance/sim/marn_numerics.py", "conformance/sim/marn_faults.py",
           "conformance/sim/cann/marn_host.py", "conformance/sim/cann/marn_paths.py",
           "conformance/reference/marn.py", "conformance/tolerance/marn_bounds.py",
           "conformance/tolerance/marn_check.py", "conformance/backends/bindings/torch_cpu_marn.py",
           "conformance/backends/bindings/torch_npu_marn.py", "conformance/backends/bindings/aclnn_marn.py",
           "conformance/fuzz/marn.py", "conformance/casegen/marn_perf.py")

_B = "conformance.backends.bindings."

_SHARED = dict(
    modules=MODULES,
    golden_wide=("odd-x1_3d-x2T-bias",),
    doc="aclnnMatmulAllReduceAddRmsNorm.md",
    dtypes=("float16", "bfloat16"),  # x1, x2, bias, residual, gamma, y and normOut share it
    dtype_arg="x1",
    shape_arg="residual",
    rank_local_args=("residual", "gamma"),  # per-rank inputs after the all-reduce: the ranks' outputs differ
    row_args=("x1", "residual", "y", "normOut"),
    path_option="bf16_rms_source",  # MARN-AMB-007: which bf16 value feeds the RMSNorm
    validate=Ref("conformance.validate.marn:validate"),
    numerics=Ref("conformance.sim.marn_numerics:run"),
    rank_run=Ref("conformance.sim.marn_numerics:rank_run"),
    host_model=Ref("conformance.sim.cann.marn_host:check"),
    kernel_path=Ref("conformance.sim.cann.marn_host:kernel_path"),
    path_branches=Ref("conformance.sim.cann.marn_paths:BRANCHES"),
    path_decide=Ref("conformance.sim.cann.marn_paths:decide"),
    mutation_base=Ref("conformance.casegen.marn:mutation_base"),
    chain=Ref("conformance.sim.chain:marn_chain"),
    check=Ref("conformance.tolerance.marn_check:check"),
    golden_arrays=Ref("conformance.reference.marn:golden_arrays"),
    golden_drift=Ref("conformance.reference.marn:golden_drift"),
    precision_outputs=Ref("conformance.reference.marn:precision_outputs"),
    rank_bounds=Ref("conformance.tolerance.marn_bounds:rank_bounds"),
)

MARN = Operator(
    name=NAME, short="marn",
    abi=Abi(f"aclnn{NAME}GetWorkspaceSize", f"aclnn{NAME}", _INPUTS, _SCALARS, ("y", "normOut"), ("y", "normOut")),
    summed_output="y", twin=INPLACE_NAME,
    bindings=(("torch-cpu", Ref(_B + "torch_cpu_marn:run")), ("torch-npu", Ref(_B + "torch_npu_marn:BINDING")),
              ("aclnn", Ref(_B + "aclnn_marn:CHAIN"))),
    # chain_matches is V3's: MARN's fused operator and chain are compared by the precision standard instead
    relations=frozenset({"inplace_matches", "cross_rank_identity", "determinism", "rank_permutation",
                         "history_independence", "row_prefix",
                         "same_rejection"}),
    constraints=Ref("conformance.spec.marn:CONSTRAINTS"), ambiguities=Ref("conformance.spec.marn:AMBIGUITIES"),
    cases=Ref("conformance.casegen.marn:all_cases"), fuzz=Ref("conformance.fuzz.marn:valid"),
    limit_cases=Ref("conformance.casegen.marn:limit_cases"), faults=Ref("conformance.sim.marn_faults:faults"),
    path_candidates=Ref("conformance.casegen.marn:path_candidates"),
    perf_case=Ref("conformance.casegen.marn_perf:perf_case"),
    **_SHARED)

INPLACE = Operator(  # y is written into the residual buffer: the ABI has normOut as its only output argument
    name=INPLACE_NAME, short="marn_inplace",
    abi=Abi(f"aclnn{INPLACE_NAME}GetWorkspaceSize", f"aclnn{INPLACE_NAME}", _INPUTS, _SCALARS, ("normOut",),
            ("residual", "normOut")),
    summed_output="residual", twin=NAME, writes_inplace=True,
    # y aliases residual only in the AddRmsNorm stage (and the context that passes it): the tiling and the matmul
    # are its base's (mc2/inplace_matmul_all_reduce_add_rms_norm forwards y = residual to the same implementation)
    path_own_branches=("MARN-ARN-", "MARN-CTX"),
    bindings=(("torch-cpu", Ref(_B + "torch_cpu_marn:run")),
              ("torch-npu", Ref(_B + "torch_npu_marn:INPLACE_BINDING")), ("aclnn", Ref(_B + "aclnn_marn:CHAIN"))),
    relations=frozenset({"inplace_matches", "cross_rank_identity", "determinism", "rank_permutation",
                         "history_independence", "row_prefix"}),
    **_SHARED)
