"""What an operator is, written once: the `Operator` record (PyTorch's OpInfo, ONNX's one module per operator).

A record holds the operator's facts as data (its C ABI, output names, which argument gives the output dtype and
shape, its declared inplace twin, its numeric-path option) and points to the code that belongs to it by import
path (`Ref`): its constraints, case families, fuzz space, reference, error bound and checker, benchmark chain,
simulator, its faults and sim-cann models, golden selection, and each backend's binding of it (`bindings`).
Pointers are resolved on first use, so importing the registry imports no layer: the backends can read an
operator's ABI without pulling in the simulator (tests/test_layering.py).

Generic code asks the record, never the operator's name: `operators.get(inv.op).summed_output`, not
`"residual" if op.startswith("Inplace") else "y"`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..importing import import_attr


@dataclass(frozen=True)
class Ref:
    """A pointer to a function or object by its import path `package.module:attr`, imported on first use."""

    path: str

    def load(self) -> Any:
        return _load(self.path)

    def __call__(self, *args, **kwargs):
        return self.load()(*args, **kwargs)


_LOADED: dict[str, Any] = {}


def _load(path: str) -> Any:
    try:
        return _LOADED[path]
    except KeyError:
        obj = _LOADED[path] = import_attr(path)
        return obj


@dataclass(frozen=True)
class Abi:
    """The operator's two C functions and the order of their arguments (the documents' prototypes)."""

    workspace_fn: str  # aclnnXxxGetWorkspaceSize
    execute_fn: str  # aclnnXxx
    inputs: tuple[str, ...]  # tensor arguments before the scalars, in C order
    scalars: tuple[str, ...]  # epsilon / group / reduceOp / commTurn / streamMode, in C order
    outputs: tuple[str, ...]  # tensor arguments after the scalars, in C order
    results: tuple[str, ...]  # the tensors whose contents come back to the host after the call

    @property
    def tensors(self) -> tuple[str, ...]:
        return self.inputs + self.outputs


@dataclass(frozen=True)
class Operator:
    """One operator of the suite. Facts are data; code is pointed to (`Ref`), in the operator's own modules."""

    name: str  # the aclnn name without the prefix: "MatmulAllReduceAddRmsNorm"
    short: str  # the case-id prefix and report label: "marn", "marn_inplace", "v3"
    doc: str  # the contract document (shared/docs), for reports
    abi: Abi
    dtypes: tuple[str, ...]  # the output dtypes it computes (its dtype table's rows; the verdict matrix's columns)
    dtype_arg: str  # the argument whose dtype is the outputs' dtype ("x1" for MARN, "output" for V3)
    shape_arg: str  # the argument whose shape the outputs have ("residual", "output")
    summed_output: str  # the output holding the all-reduced result ("y", the inplace "residual", "output")
    rank_local_args: tuple[str, ...]  # inputs that may differ per rank after the all-reduce ("residual", "gamma")
    path_option: str  # the SimOptions field that selects its legal numeric path
    # the tensors whose leading dims index the m rows (x1's b*s), outputs included: a row prefix of the operator's
    # inputs gives the same row prefix of its outputs (relations.row_prefix)
    row_args: tuple[str, ...] = ()
    twin: str | None = None  # the declared twin: the inplace variant of an out-of-place operator, and back
    writes_inplace: bool = False  # the twin that writes its summed output into an input buffer
    relations: frozenset[str] = frozenset()  # metamorphic relations that apply (conformance.relations)
    # small valid cases (ids after the prefix) the per-operator tests run on: its relations (cases/test_relations.py)
    # and the aclnn marshalling against the fake CANN (tests/test_aclnn_marshalling.py); the older operators' are
    # listed in those files
    small_cases: tuple[str, ...] = ()
    # the golden selection beyond the smoke profile's computing cases: the world-size-8 cases whose id, after the
    # prefix, starts with one of these (odd shapes, one per layout family)
    golden_wide: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()  # the operator's own modules (package paths): the only places that know its name
    # --- pointers to the operator's own code -------------------------------------------------------------------
    constraints: Ref | None = None  # tuple[Constraint, ...] (spec); shared by a twin: None on the twin
    ambiguities: Ref | None = None  # tuple[Ambiguity, ...]
    # tuple[spec.deviations.Deviation, ...] of an operator whose deviations live in its own module (the older
    # operators' are listed in spec/deviations.py itself); spec.deviations.DEVIATIONS appends them in registry order
    deviations: Ref | None = None
    cases: Ref | None = None  # () -> list[Case]: its case families (a twin's come with its base's: None)
    fuzz: Ref | None = None  # () -> hypothesis strategy of valid cases (a twin's: None, drawn with its base)
    mutation_base: Ref | None = None  # (op, dtype) -> the valid case an invalid one was mutated from (fuzzing)
    limit_cases: Ref | None = None  # () -> shape-only cases at limit - 1, limit, limit + 1 of each numeric rule
    validate: Ref | None = None  # the host checks as GetWorkspaceSize does them: (op, tensors, attrs, ws, off)
    numerics: Ref | None = None  # the simulator's device arithmetic
    rank_run: Ref | None = None  # one rank's part of the numerics (the simulator's process mode, sim/rank_program)
    host_model: Ref | None = None  # sim-cann: the published source's host checks
    kernel_path: Ref | None = None  # sim-cann: the numeric path the published kernels take for an invocation
    # sim-cann's path model (sim/cann/paths.py): the decisions of the published host tiling and kernels that this
    # operator meets (tuple[Branch, ...]), and (PathQuery) -> {branch id: side} for one invocation's shapes
    path_branches: Ref | None = None
    path_decide: Ref | None = None
    # () -> list[Case]: valid candidate cases over a grid of shapes and flags, each with params ("mkn", (m, k, n)),
    # from which casegen/path_design.py picks the cheapest per unreached side (a twin's come with its base's: None)
    path_candidates: Ref | None = None
    # the branch-id prefixes whose sides the path design must reach with this operator's own cases (None: all). A
    # twin that runs its base's host tiling and kernels except where it aliases names only those decisions
    path_own_branches: tuple[str, ...] | None = None
    chain: Ref | None = None  # the benchmark chain of separate operators (sim)
    # (op, shape, world_size, dtype) -> the layer case performance mode times (conformance/perf.py); None: not timed
    perf_case: Ref | None = None
    # () -> list: its simulator faults (sim.faults.Fault) and its shares of the shared ones (sim.faults.Share),
    # in its own module (sim/<op>_faults.py); a twin's come with its base's: None
    faults: Ref | None = None
    check: Ref | None = None  # (inv, results, **kw) -> checks: reference, derived bound and comparison
    golden_arrays: Ref | None = None  # (inv) -> the reference arrays frozen in golden/
    # (inv, live, frozen) -> the names of the arrays whose live reference moved from the frozen one by more than two
    # evaluations of the reference on different machines may differ (tests/test_golden_integrity.py)
    golden_drift: Ref | None = None
    precision_outputs: Ref | None = None  # (inv, expected) -> ({name: [array per rank]}, ranks compared)
    rank_bounds: Ref | None = None  # (inv, accumulation) -> {(rank, output): bound array} (relations)
    # backend kind ("torch-cpu", "torch-npu", "aclnn") -> that backend's binding of this operator, an object of
    # the backend's binding interface in a module of the operator's own (conformance/backends/bindings/); a
    # backend not named here does not implement the operator. Pairs, so the record stays frozen: see `binding`.
    bindings: tuple[tuple[str, Ref], ...] = ()

    def __post_init__(self):
        kinds = [kind for kind, _ in self.bindings]
        if len(set(kinds)) != len(kinds) or not all(isinstance(ref, Ref) for _, ref in self.bindings):
            raise ValueError(f"operator {self.name}: bindings must be (backend kind, Ref) pairs, one per kind")

    @property
    def outputs(self) -> tuple[str, ...]:
        """The outputs a backend returns, by name (the ABI's results)."""
        return self.abi.results

    def code(self, role: str) -> Callable:
        """The operator's code for `role` ("check", "chain", ...); a clear error where it has none."""
        ref = getattr(self, role, None)
        if not isinstance(ref, Ref):
            raise NotImplementedError(f"operator {self.name} has no {role!r} (conformance/operators/)")
        return ref.load()

    def binding(self, backend_kind: str) -> Any | None:
        """Backend `backend_kind`'s binding of this operator (its Ref loaded); None where that backend has none."""
        for kind, ref in self.bindings:
            if kind == backend_kind:
                return ref.load()
        return None

    def twin_case_id(self, case_id: str, twin: "Operator") -> str | None:
        """The id of `case_id`'s twin case of operator `twin` (same name after the operator's prefix)."""
        prefix = self.short + "-"
        return twin.short + "-" + case_id[len(prefix):] if case_id.startswith(prefix) else None
