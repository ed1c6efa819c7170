"""The relations of conformance/relations.py: the clean simulator keeps each, and each relation's fault breaks it."""

import pytest

from conformance import casegen, relations
from conformance.protocol import RankResult
from conformance.sim import SimulatorBackend
from conformance.sim.faults import FAULTS, RELATION_FAULTS, parse_faults

MARN_W2 = "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2"
MARN_W4 = "marn-tiny-x1_3d-x2N-bias-eps1e-06-bf16-w4"
INPLACE_W2 = "marn_inplace-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2"
V3_W2 = "v3-tiny-fp16_i64-x1_3d-x2nd-bias-deq1n-nox3-fp-fp16-w2"
V3_X3_W2 = "v3-tiny-bf16-x1_3d-x2nd-bias-deq1n-x3-fp-bf16-w2"
V3_LOWBIT = "v3-tiny-fp16_i64-x1_2d-x2nz-nobias-deq1-nox3-lowbit-fp16-w2"


def case(case_id):
    return casegen.by_id(case_id)


def attr_pair():
    pairs = [p for p in relations.rejection_twins(casegen.catalogue()) if "MARN-ATTR-004" in p[0].covers]
    return min(pairs, key=lambda p: (p[0].world_size, p[0].cost))


def evaluate(relation, backend, case_id):
    c = case(case_id)
    if relation == "inplace_matches":
        return relations.inplace_matches(backend, c, 0)
    if relation == "cross_rank_identity":
        return relations.cross_rank_identity(backend, c, 0)
    if relation == "determinism":
        return relations.determinism(backend, c, 0, require=True)
    if relation == "rank_permutation":
        return relations.rank_permutation(backend, c, 0)
    if relation == "chain_matches":
        return relations.chain_matches(backend, c, 0)
    if relation == "history_independence":
        return relations.history_independence(backend, c, 0)
    if relation == "row_prefix":
        return relations.row_prefix(backend, c, 0)
    raise AssertionError(relation)


CLEAN = [("inplace_matches", MARN_W2), ("inplace_matches", INPLACE_W2), ("inplace_matches", MARN_W4),
         ("cross_rank_identity", MARN_W4), ("cross_rank_identity", INPLACE_W2), ("cross_rank_identity", V3_W2),
         ("cross_rank_identity", V3_LOWBIT), ("determinism", MARN_W2), ("determinism", V3_W2),
         ("rank_permutation", MARN_W2), ("rank_permutation", MARN_W4), ("rank_permutation", INPLACE_W2),
         ("rank_permutation", V3_W2), ("rank_permutation", V3_X3_W2), ("chain_matches", V3_W2),
         ("chain_matches", V3_X3_W2), ("history_independence", MARN_W2), ("history_independence", INPLACE_W2),
         ("history_independence", V3_W2), ("row_prefix", MARN_W2), ("row_prefix", INPLACE_W2),
         ("row_prefix", MARN_W4), ("row_prefix", V3_W2), ("row_prefix", V3_X3_W2), ("row_prefix", V3_LOWBIT)]


@pytest.mark.parametrize("relation,case_id", CLEAN)
def test_clean_simulator_keeps_the_relation(relation, case_id):
    result = evaluate(relation, SimulatorBackend(), case_id)
    assert result.status == relations.PASS, result.report()
    assert result.checks and all(c.passed for c in result.checks)


def test_clean_simulator_rejects_alike():
    result = relations.same_rejection(SimulatorBackend(), *attr_pair(), 0)
    assert result.status == relations.PASS, result.report()
    assert "rejected" in result.checks[0].message


# each relation fault breaks its relation (and the message says where)
BROKEN = [("inplace-differs", "inplace_matches", MARN_W2, "normOut (out-of-place) vs normOut (inplace)"),
          ("inplace-differs", "inplace_matches", INPLACE_W2, "normOut"),
          ("ranks-reduce-own-order", "cross_rank_identity", MARN_W4, "vs rank 0"),
          ("nondeterministic", "determinism", MARN_W2, "run 2 vs run 1"),
          ("nondeterministic", "determinism", V3_W2, "run 2 vs run 1"),
          ("rank-order-dependent", "rank_permutation", MARN_W2, "permuted vs original"),
          ("rank-order-dependent", "rank_permutation", MARN_W4, "permuted vs original"),
          ("rank-order-dependent", "rank_permutation", V3_W2, "permuted vs original"),
          ("rank-order-dependent", "chain_matches", V3_W2, "fused vs chain"),
          ("stale-after-rejection", "history_independence", MARN_W2, "after a rejected call vs alone"),
          ("stale-after-rejection", "history_independence", V3_W2, "after a rejected call vs alone"),
          ("tail-tile-rows", "row_prefix", MARN_W2, "alone vs whole"),
          ("tail-tile-rows", "row_prefix", INPLACE_W2, "alone vs whole"),
          ("tail-tile-rows", "row_prefix", V3_W2, "alone vs whole")]


@pytest.mark.parametrize("fault,relation,case_id,where", BROKEN)
def test_fault_breaks_its_relation(fault, relation, case_id, where):
    result = evaluate(relation, SimulatorBackend(faults=[fault]), case_id)
    assert result.status == relations.FAIL, result.report()
    assert any(where in c.message for c in result.failures), result.report()


def test_inplace_rejecting_differently_breaks_the_rejection_relation():
    result = relations.same_rejection(SimulatorBackend(faults=["inplace-rejects-differently"]), *attr_pair(), 0)
    assert result.status == relations.FAIL
    assert "MARN rejected" in result.failures[0].message and "accepted" in result.failures[0].message


def test_the_chain_relation_catches_a_wrong_fused_kernel():
    """A numeric contract fault in the fused kernel (the chain has none) breaks the chain relation too."""
    result = relations.chain_matches(SimulatorBackend(faults=["pertoken-ignored"]),
                                     case("v3-tiny-fp16_pt-x1_3d-x2nd-nobias-deq1-nox3-fp-fp16-w1"), 0)
    assert result.status == relations.FAIL, result.report()


def test_determinism_is_recorded_not_failed_unless_required():
    backend = SimulatorBackend(faults=["nondeterministic"])
    result = relations.determinism(backend, case(MARN_W2), 0)
    assert result.status == relations.RECORDED and result.passed and result.held is False
    assert "not deterministic" in result.detail
    clean = relations.determinism(SimulatorBackend(), case(MARN_W2), 0)
    assert clean.status == relations.PASS and clean.held is True


class NoChain:
    """A backend without the optional invoke_chain capability."""

    name = "nochain"

    def __init__(self):
        self.sim = SimulatorBackend()

    def describe(self):
        return {}

    def unsupported_reason(self, inv):
        return None

    def invoke(self, inv):
        return self.sim.invoke(inv)


def test_chain_relation_is_not_supported_without_invoke_chain():
    result = relations.chain_matches(NoChain(), case(V3_W2), 0)
    assert result.status == relations.NOT_SUPPORTED and result.passed and result.held is None
    assert "no invoke_chain" in result.detail


def test_low_bit_and_world_size_one_are_not_applicable():
    assert relations.chain_matches(SimulatorBackend(), case(V3_LOWBIT), 0).status == relations.NOT_APPLICABLE
    w1 = "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1"
    assert relations.rank_permutation(SimulatorBackend(), case(w1), 0).status == relations.NOT_APPLICABLE


class Raising(NoChain):
    def invoke(self, inv):
        raise RuntimeError("boom")


class WrongStatus(NoChain):
    def invoke(self, inv):
        return [RankResult(161002, {}, "no") for _ in inv.ranks]


@pytest.mark.parametrize("backend", [Raising(), WrongStatus()])
def test_a_backend_error_or_a_rejection_fails_the_relation(backend):
    result = relations.cross_rank_identity(backend, case(MARN_W2), 0)
    assert result.status == relations.FAIL and result.failures


def test_relation_faults_are_parsed_but_not_contract_faults():
    """The catalogue need not kill them (tests/test_detection.py): they are proven here."""
    assert not set(RELATION_FAULTS) & set(FAULTS)
    assert parse_faults(list(RELATION_FAULTS)) == frozenset(RELATION_FAULTS)


def test_permuted_invocations_share_no_buffer_and_keep_strided_views():
    from conformance.casegen.inputs import materialise
    inv = materialise(case("marn-tiny-x1_3d-x2T-bias-eps0.5-fp16-w2"), 0)
    moved = relations.permute_shards(inv, (1, 0))
    x2_0, x2_1 = inv.ranks[1]["x2"], moved.ranks[0]["x2"]
    assert x2_1.strides == x2_0.strides and (x2_1.data == x2_0.data).all()
    assert x2_1.data.strides == x2_0.data.strides
    assert not any(a["residual"].data is b["residual"].data for a, b in zip(inv.ranks, moved.ranks))


def test_history_independence_is_not_evaluated_where_the_rejection_did_not_happen():
    """A backend that accepts reduceOp "max" (a contract failure the case tests judge) leaves the relation not
    evaluated; the stale-state fault does not fire without a rejection, so repeat runs alone stay identical."""
    accepting = SimulatorBackend(faults=["unchecked:MARN-ATTR-001"])
    result = relations.history_independence(accepting, case(MARN_W2), 0)
    assert result.status == relations.NOT_APPLICABLE and "not rejected" in result.detail
    stale = SimulatorBackend(faults=["stale-after-rejection"])
    assert relations.determinism(stale, case(MARN_W2), 0, require=True).status == relations.PASS


def test_row_prefix_cuts_whole_batches_or_rows_and_shares_no_buffer():
    assert relations._rows_kept((3, 5, 40)) == ("batch", 2, 10)
    assert relations._rows_kept((1, 4, 16)) == ("row", 2, 2)
    assert relations._rows_kept((7, 16)) == ("row", 4, 4)
    one_row = SimulatorBackend()
    single = [c for c in casegen.catalogue() if c.kind == "valid" and not c.shape_only and c.op == case(MARN_W2).op
              and dict(c.tensors)["x1"].shape[:-1] in ((1, 1), (1,))]
    if single:  # a one-row case has no shorter prefix
        assert relations.row_prefix(one_row, single[0], 0).status == relations.NOT_APPLICABLE
