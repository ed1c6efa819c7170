"""Metamorphic and consistency relations: properties of a backend's outputs that need no reference, so they
hold on hardware as well as on the simulator. Free of pytest: each relation takes a backend, a case and a run
seed and returns a `RelationResult` holding `compare.Check`s. Which relations apply to an operator, and the
facts they use, come from its record (conformance/operators/: relations, outputs, rank_local_args, twin,
writes_inplace, rank_bounds); nothing here names an operator.

1. inplace_matches        an operator and its declared inplace twin equal bit for bit on the same inputs
                          (the out-of-place outputs against the twin's, in order: y against the residual
                          after the call, normOut against normOut)
2. cross_rank_identity    every rank's outputs identical when every rank passes the same rank-local inputs
                          (the record's rank_local_args: residual and gamma; none: always)
3. determinism            repeat runs bit-identical. The shared documents do not promise it: recorded
                          (status "recorded") unless `require` is set, then a failure. Later revisions promise
                          it under a documented setting (records of family DET, e.g. HCCL_DETERMINISTIC=true):
                          `determinism_rule` makes it a check where the selected revision promises it and the
                          run was under that setting
4. rank_permutation       permuting which rank holds which shard changes nothing beyond twice the suite's
                          bound (the reduced sum may round differently)
5. chain_matches          without comm scales, the fused operator equals the backend's chain (invoke_chain)
                          within twice the bound; "not supported" where the backend has no invoke_chain
6. same_rejection         an invalid case and its twin's case (ids differ only in the operators' prefixes,
                          "marn-" / "marn_inplace-") are both rejected or both accepted
7. history_independence   a valid case run right after a rejected call of the same shapes (reduceOp "max",
                          which every document rejects) gives its outputs alone, bit for bit: a rejection
                          leaves no state behind
8. row_prefix             the first rows of a case, computed alone (their own tiling), equal the same rows of
                          the whole case within twice the bound: every row's result depends on its own row only

Every relation is shown able to fail by a simulator fault (sim.faults.RELATION_FAULTS; tests/test_relations_unit.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from . import operators
from .casegen.inputs import materialise
from .casegen.model import Case
from .operators import Operator
from .protocol import Invocation, RankFailure, TensorArg, status_name
from .spec.model import DETERMINISM_FAMILY, Constraint
from .tolerance import compare
from .tolerance.accumulation import DEFAULT_ACCUMULATION

PASS, FAIL, RECORDED, NOT_SUPPORTED, NOT_APPLICABLE = "pass", "fail", "recorded", "not supported", "not applicable"

RELATIONS = ("inplace_matches", "cross_rank_identity", "determinism", "rank_permutation", "chain_matches",
             "same_rejection", "history_independence", "row_prefix")
REJECTED_REDUCE_OP = "max"  # a reduceOp no document of the family allows: the call with it must be rejected


@dataclass
class RelationResult:
    relation: str
    case_id: str
    status: str  # pass | fail | recorded (did not hold, not required) | not supported | not applicable
    checks: list[compare.Check] = field(default_factory=list)
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    @property
    def held(self) -> bool | None:
        """Whether the relation held (None where it was not evaluated)."""
        if self.status in (NOT_SUPPORTED, NOT_APPLICABLE):
            return None
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[compare.Check]:
        return [c for c in self.checks if not c.passed]

    def report(self) -> str:
        lines = [f"{self.relation} on {self.case_id}: {self.status}"]
        if self.detail:
            lines.append(f"  {self.detail}")
        lines += [f"  {c.message}" for c in self.failures]
        return "\n".join(lines)


def _result(relation: str, case_id: str, checks: list[compare.Check], detail: str = "") -> RelationResult:
    unsupported = [c for c in checks if c.category == "unsupported"]
    if unsupported:  # the backend declared a case it cannot run: nothing was evaluated
        return RelationResult(relation, case_id, NOT_SUPPORTED, checks, detail or unsupported[0].message)
    return RelationResult(relation, case_id, PASS if all(c.passed for c in checks) else FAIL, checks, detail)


# ---------------------------------------------------------------------------------------------- invocations

def clone_array(a: np.ndarray) -> np.ndarray:
    """A copy with the same strides over a copy of its buffer (a strided view stays a strided view)."""
    if a.flags.c_contiguous or not isinstance(a.base, np.ndarray):
        return a.copy()
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    new_root = np.ascontiguousarray(root).copy().reshape(-1)
    offset = (a.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // a.itemsize
    return np.lib.stride_tricks.as_strided(new_root[offset:], a.shape, a.strides)


def clone_tensor(t: TensorArg | None) -> TensorArg | None:
    if t is None or t.data is None:
        return t
    return dataclasses.replace(t, data=clone_array(np.asarray(t.data)))


def with_ranks(inv: Invocation, ranks) -> Invocation:
    return dataclasses.replace(inv, ranks=tuple(dict(r) for r in ranks))


def same_rank_local_args(inv: Invocation) -> Invocation:
    """Every rank gets (its own copy of) rank 0's rank-local inputs (the operator record's rank_local_args:
    MARN's residual and gamma; none for V3)."""
    r0 = inv.ranks[0]
    names = operators.get(inv.op).rank_local_args
    return with_ranks(inv, [{**r, **{n: clone_tensor(r0[n]) for n in names}} for r in inv.ranks])


def shard_args(op: Operator) -> tuple[str, ...]:
    """The inputs a permutation of the ranks moves: every input of the operator's ABI but its rank-local ones
    (MARN: x1, x2, bias; V3: also x3, its dequant/pertoken scales and the comm scales, which the contract
    requires identical on every rank, so moving them changes nothing)."""
    return tuple(n for n in op.abi.inputs if n not in op.rank_local_args)


def permute_shards(inv: Invocation, perm) -> Invocation:
    """Rank i receives rank perm[i]'s shard arguments (`shard_args`); everything else stays where it was.
    Arrays are copied, so the two invocations share no buffer."""
    names = shard_args(operators.get(inv.op))
    ranks = []
    for i, r in enumerate(inv.ranks):
        src = inv.ranks[perm[i]]
        ranks.append({k: clone_tensor(src[k] if k in names else v) for k, v in r.items()})
    return with_ranks(inv, ranks)


def _twin(op: Operator) -> Operator:
    twin = operators.twin_of(op)
    if twin is None:
        raise ValueError(f"{op.name} declares no twin (conformance/operators/)")
    return twin


def as_inplace(inv: Invocation) -> Invocation:
    """The inplace twin (the record's `twin`) of an out-of-place invocation on the same inputs: without the
    output argument the twin lacks (MARN: y); copies of every buffer."""
    op = operators.get(inv.op)
    twin = _twin(op)
    dropped = set(op.abi.tensors) - set(twin.abi.tensors)
    return dataclasses.replace(inv, op=twin.name, ranks=tuple(
        {k: clone_tensor(v) for k, v in r.items() if k not in dropped} for r in inv.ranks))


def _nan_like(t: TensorArg | None) -> TensorArg | None:
    return None if t is None else dataclasses.replace(
        t, data=None if t.data is None else np.full_like(np.asarray(t.data), np.nan))


def as_out_of_place(inv: Invocation) -> Invocation:
    """The out-of-place twin (the record's `twin`) of an inplace invocation: its output arguments in C order
    after the inputs, each one the inplace call lacks (MARN: y) a NaN-filled buffer shaped like the inplace
    call's last output argument (normOut)."""
    twin = _twin(operators.get(inv.op))
    own = operators.get(inv.op).abi.outputs
    ranks = []
    for r in inv.ranks:
        like = r[own[-1]]
        order = [k for k in r if k not in own] + list(twin.abi.outputs)  # C order: ..., gamma, y, normOut
        ranks.append({k: (clone_tensor(r[k]) if k in r else _nan_like(like)) for k in order})
    return dataclasses.replace(inv, op=twin.name, ranks=tuple(ranks))


def _materialise(case: Case, seed: int, devices=()) -> Invocation:
    """The case's invocation (fresh buffers every time), on the leased `devices` if any."""
    inv = materialise(case, seed)
    return dataclasses.replace(inv, devices=tuple(devices)) if devices else inv


def _call(backend, inv: Invocation, chain: bool = False):
    """(results, None) or (None, Check that says why no results came)."""
    reason = backend.unsupported_reason(inv)
    if reason:
        return None, compare.Check("supported", False, reason, category="unsupported")
    try:
        results = backend.invoke_chain(inv) if chain else backend.invoke(inv)
    except RankFailure as exc:
        return None, compare.Check("invoke", False, f"{'chain' if chain else 'invoke'}: {exc}", category=exc.kind)
    except Exception as exc:  # a backend bug is a finding
        return None, compare.Check("invoke", False, f"{'chain' if chain else 'invoke'} raised "
                                                    f"{type(exc).__name__}: {exc}", category="backend_error")
    if len(results) != inv.world_size:
        return None, compare.Check("invoke", False, f"{len(results)} rank results for world size {inv.world_size}",
                                   category="backend_error")
    return results, None


def _statuses_ok(label: str, results) -> compare.Check:
    bad = [(r, res.status) for r, res in enumerate(results) if res.status]
    return compare.Check(f"{label} status", not bad,
                         f"{label}: " + ("every rank returned 0" if not bad else ", ".join(
                             f"rank {r} returned {status_name(s)}" for r, s in bad)), category="wrong_status")


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.view(f"u{a.dtype.itemsize}") if a.dtype.itemsize in (1, 2, 4, 8) else a.view(np.uint8)


def bit_equal(name: str, a, b, category: str = "exact_mismatch") -> compare.Check:
    """`a` and `b` identical bit for bit (shape, dtype and every element; NaN payloads included)."""
    if a is None or b is None:
        return compare.Check(name, False, f"{name}: output missing ({'first' if a is None else 'second'})",
                             category="bad_output")
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return compare.Check(name, False, f"{name}: {a.dtype}{a.shape} against {b.dtype}{b.shape}",
                             category="bad_output")
    diff = _bits(a) != _bits(b)
    n = int(np.count_nonzero(diff))
    if not n:
        return compare.Check(name, True, f"{name}: identical ({a.size} elements)", {"elements": int(a.size)})
    first = int(np.flatnonzero(diff.reshape(-1))[0])
    idx = tuple(int(i) for i in np.unravel_index(first, a.shape)) if a.ndim else ()
    return compare.Check(name, False, f"{name}: {n} of {a.size} elements differ; first at {idx}: "
                                      f"{a.reshape(-1)[first]!r} against {b.reshape(-1)[first]!r}",
                         {"elements": int(a.size), "differing": n, "first_index": str(idx)}, category=category)


def _bit_identical(label: str, candidate, reference, category: str = "exact_mismatch") -> list[compare.Check]:
    """Every output of every rank of two runs' results, bit for bit ("rank r name: label")."""
    return [bit_equal(f"rank {r} {name}: {label}", b.outputs.get(name), a.outputs.get(name), category=category)
            for r, (a, b) in enumerate(zip(reference, candidate)) for name in sorted(set(a.outputs) | set(b.outputs))]


def _not_applicable(rel: str, case: Case, op: Operator) -> RelationResult | None:
    """NOT_APPLICABLE where the operator's record does not list the relation (conformance/operators/)."""
    if rel in op.relations:
        return None
    return RelationResult(rel, case.id, NOT_APPLICABLE, detail=f"{rel} does not apply to {op.name}")


def _valid(case: Case) -> str | None:
    if case.kind == "invalid" or case.rejects:
        return f"{case.id} is a rejection case"
    if case.shape_only:
        return f"{case.id} is shape-only (no data)"
    return None


# ------------------------------------------------------------------------------------------------ relations

def inplace_matches(backend, case: Case, seed: int, *, devices=()) -> RelationResult:
    """(1) An operator and its declared inplace twin (the records' `twin`, `writes_inplace`) on the same inputs:
    MARN's y == the inplace residual after the call, normOut == normOut, bit for bit, on every rank."""
    rel = "inplace_matches"
    op = operators.get(case.op)
    if rel not in op.relations or _valid(case):
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail=_valid(case) or f"{case.op} has no inplace twin")
    twin = _twin(op)
    base = _materialise(case, seed, devices)
    copy = with_ranks(base, [{k: clone_tensor(v) for k, v in r.items()} for r in base.ranks])
    oop, inp = (as_out_of_place(base), copy) if op.writes_inplace else (copy, as_inplace(base))
    oop_op, inp_op = (twin, op) if op.writes_inplace else (op, twin)
    checks = []
    res_o, err = _call(backend, oop)
    if err:
        return _result(rel, case.id, [err])
    res_i, err = _call(backend, inp)
    if err:
        return _result(rel, case.id, [err])
    checks += [_statuses_ok("out-of-place", res_o), _statuses_ok("inplace", res_i)]
    if all(c.passed for c in checks):
        for r, (o, i) in enumerate(zip(res_o, res_i)):
            for o_name, i_name in zip(oop_op.outputs, inp_op.outputs):  # the results, in the same order
                checks.append(bit_equal(f"rank {r} {o_name} (out-of-place) vs {i_name} (inplace)",
                                        o.outputs.get(o_name), i.outputs.get(i_name)))
    return _result(rel, case.id, checks)


def cross_rank_identity(backend, case: Case, seed: int, *, devices=()) -> RelationResult:
    """(2) Every rank passing rank 0's rank-local inputs (the record's rank_local_args: MARN's residual and gamma;
    V3 has none): every rank's outputs identical."""
    rel = "cross_rank_identity"
    op = operators.get(case.op)
    if _valid(case):
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail=_valid(case))
    na = _not_applicable(rel, case, op)
    if na:
        return na
    inv = _materialise(case, seed, devices)
    if op.rank_local_args:
        inv = same_rank_local_args(inv)
    results, err = _call(backend, inv)
    if err:
        return _result(rel, case.id, [err])
    checks = [_statuses_ok("call", results)]
    if checks[0].passed:
        for name in op.outputs:
            for r in range(1, len(results)):
                checks.append(bit_equal(f"rank {r} {name} vs rank 0", results[r].outputs.get(name),
                                        results[0].outputs.get(name), category="cross_rank_mismatch"))
    return _result(rel, case.id, checks, _same_local_detail(op))


def _same_local_detail(op: Operator) -> str:
    args = op.rank_local_args
    return f"every rank passed rank 0's {' and '.join(args)}" if args else ""


def determinism_promise(constraints: Mapping[str, Constraint], op: str) -> Constraint | None:
    """The record promising run-to-run determinism of `op` in `constraints` (the selected document revision's
    catalogue), or None: the shared documents promise none."""
    return next((c for c in constraints.values() if c.family == DETERMINISM_FAMILY and op in c.ops), None)


def _setting_text(setting: str, environ: Mapping[str, str | None]) -> str:
    name = setting.partition("=")[0]
    value = environ.get(name)
    return f"{name}={value}" if value else f"{name} unset"


def determinism_rule(constraints: Mapping[str, Constraint], op: str, environ: Mapping[str, str | None],
                     require: bool = False) -> tuple[bool, str]:
    """Whether the determinism relation is a check for `op`, and why (one line): a check where the selected
    documents promise determinism (a DET record) and the run was under its setting (`environ`: the values in
    effect, None for unset), or with `require` (--mc2-require-determinism); recorded otherwise."""
    forced = "checked (--mc2-require-determinism)" if require else "recorded"
    promise = determinism_promise(constraints, op)
    if promise is None:
        return require, f"the selected documents do not promise determinism: {forced}"
    holds = promise.setting_holds(environ)
    said = f"{promise.id} ({promise.revision}) promises determinism under {promise.setting}"
    if holds:
        return True, f"{said}, which this run used ({_setting_text(promise.setting, environ)}): checked"
    if holds is None:
        return require, f"{said}, which the suite neither sets nor sees: {forced}"
    return require, f"{said}; this run was not under it ({_setting_text(promise.setting, environ)}): {forced}"


def determinism(backend, case: Case, seed: int, *, devices=(), runs: int = 2, require: bool = False,
                why: str = "") -> RelationResult:
    """(3) `runs` calls on identical inputs give identical outputs, bit for bit. Not promised by the shared
    documents: a difference is recorded (status "recorded") unless `require` (determinism_rule: a later revision
    promises it under a setting the run used, or --mc2-require-determinism). `why`: the rule's reason, quoted in
    the detail."""
    rel = "determinism"
    if _valid(case):
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail=_valid(case))
    na = _not_applicable(rel, case, operators.get(case.op))
    if na:
        return na
    first, err = _call(backend, _materialise(case, seed, devices))
    if err:
        return _result(rel, case.id, [err])
    checks = [_statuses_ok("run 1", first)]
    for run in range(2, runs + 1):
        again, err = _call(backend, _materialise(case, seed, devices))
        if err:
            return _result(rel, case.id, checks + [err])
        checks.append(_statuses_ok(f"run {run}", again))
        checks += _bit_identical(f"run {run} vs run 1", again, first, category="nondeterministic")
    held = all(c.passed for c in checks)
    status_failed = any(not c.passed for c in checks if c.name.endswith("status"))
    suffix = f" ({why})" if why else ""
    if held:
        return RelationResult(rel, case.id, PASS, checks, f"{runs} runs bit-identical{suffix}")
    if require or status_failed:
        return RelationResult(rel, case.id, FAIL, checks, f"{runs} runs differ{suffix}")
    return RelationResult(rel, case.id, RECORDED, checks,
                          f"{runs} runs differ: not deterministic ("
                          + (why or "recorded; the documents do not promise it") +
                          "; --mc2-require-determinism makes it a failure)")


def _bounds(inv: Invocation, accumulation: str) -> dict[tuple[int, str], np.ndarray]:
    """The suite's error bound of every (rank, output) of `inv`, as (m, n) float32 arrays (from its inputs): the
    operator's own `rank_bounds` (tolerance/marn_bounds.py, v3_bounds.py)."""
    return operators.get(inv.op).rank_bounds(inv, accumulation)


def _within(name: str, a, b, bound: np.ndarray) -> list[compare.Check]:
    """|a - b| <= 2 * bound: both sides of a relation are within `bound` of the same exact value."""
    if a is None or b is None:
        return [compare.Check(name, False, f"{name}: output missing", category="bad_output")]
    b32 = compare.to_f32(b).reshape(bound.shape)
    return compare.bounded(name, compare.to_f32(a).reshape(bound.shape), b32, 2 * bound)


def rank_permutation(backend, case: Case, seed: int, *, devices=(), perm=None,
                     accumulation: str = DEFAULT_ACCUMULATION) -> RelationResult:
    """(4) Permute which rank holds which shard (default: reversed rank order; every rank with rank 0's rank-local
    inputs, MARN's residual and gamma, so the permuted outputs belong to the same rank positions): every output
    stays within twice the suite's bound of the unpermuted one."""
    rel = "rank_permutation"
    op = operators.get(case.op)
    if _valid(case):
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail=_valid(case))
    na = _not_applicable(rel, case, op)
    if na:
        return na
    if case.world_size < 2:
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail="world size 1: nothing to permute")
    perm = tuple(perm or reversed(range(case.world_size)))
    base = _materialise(case, seed, devices)
    if op.rank_local_args:
        base = same_rank_local_args(base)
    permuted = permute_shards(base, perm)
    bounds = _bounds(base, accumulation)  # before any call: the inplace variant overwrites its residual
    return _two_runs_within(rel, case, backend, ("original", base, False), ("permuted", permuted, False), bounds,
                            detail=f"shards permuted {perm}")


def _two_runs_within(rel: str, case: Case, backend, reference, candidate, bounds: dict,
                     detail: str = "") -> RelationResult:
    """Run two (label, invocation, chain) variants, the reference first; both must succeed on every rank, and
    every output of the candidate must lie within twice `bounds` ((rank, name) -> bound) of the reference's."""
    (label_a, inv_a, chain_a), (label_b, inv_b, chain_b) = reference, candidate
    res_a, err = _call(backend, inv_a, chain=chain_a)
    if err:
        return _result(rel, case.id, [err])
    res_b, err = _call(backend, inv_b, chain=chain_b)
    if err:
        return _result(rel, case.id, [err])
    checks = [_statuses_ok(label_a, res_a), _statuses_ok(label_b, res_b)]
    if all(c.passed for c in checks):
        for (r, name), bound in bounds.items():
            checks += _within(f"rank {r} {name}: {label_b} vs {label_a}", res_b[r].outputs.get(name),
                              res_a[r].outputs.get(name), bound)
    return _result(rel, case.id, checks, detail)


def history_independence(backend, case: Case, seed: int, *, devices=()) -> RelationResult:
    """(7) The case alone, then a call of the same shapes the backend must reject (reduceOp "max"), then the case
    again: both runs of the case bit-identical on every rank. A rejection the backend does not give (it accepted
    reduceOp "max") leaves the relation not evaluated: the contract tests judge that rejection."""
    rel = "history_independence"
    if _valid(case):
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail=_valid(case))
    op = operators.get(case.op)
    if "reduceOp" not in op.abi.scalars:
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail=f"{op.name} takes no reduceOp to reject")
    alone, err = _call(backend, _materialise(case, seed, devices))
    if err:
        return _result(rel, case.id, [err])
    checks = [_statuses_ok("alone", alone)]
    base = _materialise(case, seed, devices)
    rejected, err = _call(backend, dataclasses.replace(base, attrs={**base.attrs, "reduceOp": REJECTED_REDUCE_OP}))
    if err:
        return _result(rel, case.id, checks + [err])
    if not all(r.status for r in rejected):
        return RelationResult(rel, case.id, NOT_APPLICABLE, checks,
                              f"the call with reduceOp {REJECTED_REDUCE_OP!r} was not rejected on every rank")
    after, err = _call(backend, _materialise(case, seed, devices))
    if err:
        return _result(rel, case.id, checks + [err])
    checks.append(_statuses_ok("after the rejection", after))
    if all(c.passed for c in checks):
        checks += _bit_identical("after a rejected call vs alone", after, alone)
    return _result(rel, case.id, checks, f"run alone, then after a call rejected for reduceOp {REJECTED_REDUCE_OP!r}")


def _rows_kept(shape: tuple[int, ...]) -> tuple[str, int, int]:
    """How a row prefix cuts a (b, s, k) or (m, k) x1: (axis cut, entries kept on it, rows kept of m = b*s): about
    half the rows, whole batches where b > 1."""
    if len(shape) == 3 and shape[0] > 1:
        keep = -(-shape[0] // 2)
        return "batch", keep, keep * shape[1]
    m = shape[1] if len(shape) == 3 else shape[0]
    keep = -(-m // 2)
    return "row", keep, keep


def _prefix(t: TensorArg | None, cut: str, keep: int, rows: int) -> TensorArg | None:
    if t is None or t.data is None:
        return t
    a = np.asarray(t.data)
    if a.ndim == 1:
        part = a[:rows]  # a per-row vector (V3's pertokenScale)
    elif a.ndim == 3:
        part = a[:keep] if cut == "batch" else a[:, :keep]
    else:
        part = a[:rows]
    return TensorArg.from_array(np.array(part, copy=True), t.dtype, format=t.format)  # no buffer shared


def row_prefix(backend, case: Case, seed: int, *, devices=(),
               accumulation: str = DEFAULT_ACCUMULATION) -> RelationResult:
    """(8) The case whole, then its first rows alone (about half; whole batches where b > 1; the record's row_args
    cut, everything else unchanged): every output row the two share lies within twice the suite's bound of the
    other. The tiling differs (fewer rows: other tiles, tails and modes), the numbers must not."""
    rel = "row_prefix"
    if _valid(case):
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail=_valid(case))
    op = operators.get(case.op)
    na = _not_applicable(rel, case, op)
    if na:
        return na
    whole = _materialise(case, seed, devices)
    x1 = whole.ranks[0].get("x1")
    if x1 is None or len(x1.shape) not in (2, 3):
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail="x1 is not a 2-D or 3-D matrix of rows")
    cut, keep, rows = _rows_kept(tuple(x1.shape))
    m = int(np.prod(x1.shape[:-1]))
    if rows >= m:
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail=f"{m} row(s): no shorter prefix")
    bounds = {key: b.reshape(m, -1)[:rows] for key, b in _bounds(whole, accumulation).items()}
    part = with_ranks(whole, [{k: (_prefix(v, cut, keep, rows) if k in op.row_args else clone_tensor(v))
                               for k, v in r.items()} for r in whole.ranks])
    res_whole, err = _call(backend, whole)
    if err:
        return _result(rel, case.id, [err])
    res_part, err = _call(backend, part)
    if err:
        return _result(rel, case.id, [err])
    checks = [_statuses_ok("whole", res_whole), _statuses_ok(f"first {rows} of {m} rows", res_part)]
    if all(c.passed for c in checks):
        for (r, name), bound in bounds.items():
            a, b = res_part[r].outputs.get(name), res_whole[r].outputs.get(name)
            b = None if b is None else np.asarray(b).reshape(m, -1)[:rows]
            checks += _within(f"rank {r} {name}: first {rows} rows alone vs whole", a, b, bound)
    return _result(rel, case.id, checks, f"rows 0..{rows - 1} of {m} computed alone")


def chain_matches(backend, case: Case, seed: int, *, devices=(),
                  accumulation: str = DEFAULT_ACCUMULATION) -> RelationResult:
    """(5) Without comm scales, on the operators whose record lists it (V3): the fused operator equals the
    backend's chain (invoke_chain) within twice the bound, every rank."""
    rel = "chain_matches"
    if not callable(getattr(backend, "invoke_chain", None)):
        return RelationResult(rel, case.id, NOT_SUPPORTED,
                              detail=f"backend {getattr(backend, 'name', '?')} has no invoke_chain")
    op = operators.get(case.op)
    if rel not in op.relations or _valid(case):
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail=_valid(case) or (
            " / ".join(o.short.upper() for o in operators.all_operators() if rel in o.relations) + " cases only"))
    base = _materialise(case, seed, devices)
    r0 = base.ranks[0]
    if r0.get("commQuantScale1") is not None and r0.get("commQuantScale2") is not None:
        return RelationResult(rel, case.id, NOT_APPLICABLE, detail="low-bit communication (comm scales given)")
    chain_inv = with_ranks(base, [{k: clone_tensor(v) for k, v in r.items()} for r in base.ranks])
    bounds = _bounds(base, accumulation)
    return _two_runs_within(rel, case, backend, ("chain", chain_inv, True), ("fused", base, False), bounds)


def rejection_twins(cases) -> list[tuple[Case, Case]]:
    """(invalid case, its twin's case) for every invalid case in `cases` of an operator whose record lists
    same_rejection (MARN: the Inplace twin, ids differing only in the prefix, Operator.twin_case_id) and whose
    twin case is catalogued."""
    from . import casegen
    by_id = {c.id: c for c in casegen.catalogue()}
    pairs = []
    for c in cases:
        op = operators.get(c.op)
        if "same_rejection" in op.relations and c.kind == "invalid":
            twin = by_id.get(op.twin_case_id(c.id, _twin(op)))
            if twin is not None:
                pairs.append((c, twin))
    return pairs


def _side(op: Operator) -> tuple[str, str]:
    """(label in the message, key in the stats) of one side of same_rejection: "Inplace" / "inplace" for the
    twin that writes in place, else the operator's short name ("MARN" / "marn")."""
    return ("Inplace", "inplace") if op.writes_inplace else (op.short.upper(), op.short)


def same_rejection(backend, case: Case, twin: Case, seed: int, *, devices=()) -> RelationResult:
    """(6) An invalid case and its twin's case (MARN and Inplace): both rejected (a nonzero status on some rank)
    or both accepted. The codes are recorded, not compared."""
    rel = "same_rejection"
    verdicts = {}
    for c in (case, twin):
        results, err = _call(backend, _materialise(c, seed, devices))
        if err:
            return _result(rel, case.id, [err])
        verdicts[operators.get(c.op)] = [res.status for res in results]
    (label_a, key_a), (label_b, key_b) = _side(operators.get(case.op)), _side(operators.get(twin.op))
    a, b = verdicts[operators.get(case.op)], verdicts[operators.get(twin.op)]
    ok = any(a) == any(b)
    word = lambda s: "rejected (" + ", ".join(sorted({status_name(x) for x in s if x})) + ")" if any(s) else "accepted"
    msg = f"{label_a} {word(a)}, {label_b} ({twin.id}) {word(b)}"
    return _result(rel, case.id, [compare.Check("same rejection", ok, f"same rejection: {msg}",
                                                {key_a: a, key_b: b}, category="wrong_status")])
