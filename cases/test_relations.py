"""Metamorphic and consistency relations (conformance/relations.py): properties that need no reference, so they
hold on hardware as on the simulator. Each runs on a few small cases of the selected world sizes.

Determinism is not promised by the shared documents: whether repeat runs were bit-identical is recorded (a warning
in the summary, the test's `mc2_relation` property). It is a check where the selected document revision promises
it (MARN-DET-001, V3-DET-001: from repo-f33d3ce) and the run was under the setting it names (HCCL_DETERMINISTIC=true
from repo-17beaba on: --mc2-hccl-deterministic true, or the environment), and with --mc2-require-determinism. The
chain relation needs a backend with invoke_chain; without one it is skipped as not supported.
"""

import json
import warnings

import pytest

from conformance import casegen, operators, relations
from conformance.casegen.model import selects_world_size
from conformance.pytest_plugin import label_case, leased_backend

# small valid cases, one per world size; a test runs those of the selected world sizes
MARN_IDS = [f"marn-tiny-x1_3d-x2N-bias-eps1e-06-{dt}-w{w}" for dt in ("fp16", "bf16") for w in (1, 2, 4, 8)]
INPLACE_IDS = [f"marn_inplace-tiny-x1_3d-x2N-bias-eps1e-06-{dt}-w{w}" for dt in ("fp16",) for w in (2, 4)]
V3_IDS = ["v3-tiny-fp16_i64-x1_3d-x2nd-bias-deq1n-nox3-fp-fp16-w2", "v3-tiny-bf16-x1_3d-x2nd-bias-deq1n-x3-fp-bf16-w2",
          "v3-tiny-fp16_i64-x1_2d-x2nz-nobias-deq1-nox3-lowbit-fp16-w2"]


def _of_records(relation: str) -> list[str]:
    """The case ids of the operators whose record lists `relation` and names its own relation cases."""
    return [f"{op.short}-{i}" for op in operators.all_operators() if relation in op.relations
            for i in op.small_cases]


def _catalogued(ids):
    known = {c.id for c in casegen.catalogue()}
    return [i for i in ids if i in known]


def _case(mc2, case_id, request=None):
    case = casegen.by_id(case_id)
    if not selects_world_size(case, mc2.world_sizes):
        pytest.skip(f"world size {case.world_size} not selected (--mc2-world-sizes)")
    if request is not None and request.config.getoption("--alluredir", None):
        label_case(case, seed=mc2.seed)  # operator / constraint labels like every case test
    return case


def _record(request, result):
    request.node.user_properties.append(("mc2_relation", json.dumps(
        {"relation": result.relation, "case_id": result.case_id, "status": result.status, "held": result.held,
         "detail": result.detail})))


def _judge(request, mc2, result):
    _record(request, result)
    if result.status == relations.NOT_SUPPORTED:  # worded as the case tests word it: one reason on the page
        pytest.skip(f"backend {mc2.backend.name} does not support this case: {result.detail}")
    if result.status == relations.NOT_APPLICABLE:
        pytest.skip(result.detail)
    if not result.passed:
        pytest.fail(f"{result.report()}\nrepro: {mc2.repro(request.node.nodeid)}", pytrace=False)
    return result


def _twin_pairs():
    """One (MARN invalid case, Inplace twin) pair per rejection constraint: the cheapest in the catalogue's
    signoff profile, smallest world size first."""
    best = {}
    for pair in relations.rejection_twins(casegen.catalogue()):
        case = pair[0]
        key = case.covers[0] if case.covers else case.id
        if case.origin == "catalogue" and (key not in best or (case.world_size, case.cost) <
                                           (best[key][0].world_size, best[key][0].cost)):
            best[key] = pair
    return [best[k] for k in sorted(best)]


@pytest.mark.parametrize("case_id", _catalogued(MARN_IDS + INPLACE_IDS))
def test_inplace_matches_out_of_place(case_id, mc2, request):
    """(1) The inplace and out-of-place variants on the same inputs: y == residual after the call and
    normOut == normOut, bit for bit, on every rank."""
    case = _case(mc2, case_id, request)
    _judge(request, mc2, relations.inplace_matches(leased_backend(mc2, case), case, mc2.seed))


@pytest.mark.parametrize("case_id", _catalogued(MARN_IDS[:2] + INPLACE_IDS[:1] + V3_IDS + _of_records("row_prefix")))
def test_row_prefix(case_id, mc2, request):
    """(8) The first rows of a case computed alone equal the same rows of the whole case, within twice the bound."""
    case = _case(mc2, case_id, request)
    _judge(request, mc2, relations.row_prefix(leased_backend(mc2, case), case, mc2.seed, accumulation=mc2.accumulation))


@pytest.mark.parametrize("case_id", _catalogued(MARN_IDS[:2] + INPLACE_IDS[:1] + V3_IDS[:1]
                                              + _of_records("history_independence")[:1]))
def test_history_independence(case_id, mc2, request):
    """(7) A valid case right after a rejected call of the same shapes gives its outputs alone, bit for bit."""
    case = _case(mc2, case_id, request)
    _judge(request, mc2, relations.history_independence(leased_backend(mc2, case), case, mc2.seed))


@pytest.mark.parametrize("case_id", _catalogued([i for i in MARN_IDS + INPLACE_IDS + V3_IDS
                                              + _of_records("cross_rank_identity") if not i.endswith("-w1")]))
def test_ranks_agree(case_id, mc2, request):
    """(2) MARN with rank 0's residual and gamma on every rank, and V3 always: every rank's outputs identical."""
    case = _case(mc2, case_id, request)
    _judge(request, mc2, relations.cross_rank_identity(leased_backend(mc2, case), case, mc2.seed))


@pytest.mark.covers("MARN-DET-001", "V3-DET-001")  # records of later revisions only (--mc2-doc-revision)
@pytest.mark.parametrize("case_id", _catalogued(MARN_IDS[:4] + V3_IDS[:1] + _of_records("determinism")[:1]))
def test_repeat_runs(case_id, mc2, request):
    """(3) Repeat runs on identical inputs: bit-identical? A check where the selected documents promise it under a
    setting the run used (or with --mc2-require-determinism); recorded otherwise."""
    case = _case(mc2, case_id, request)
    require, why = mc2.determinism_rule(case.op)
    result = relations.determinism(leased_backend(mc2, case), case, mc2.seed, require=require, why=why)
    _judge(request, mc2, result)
    if result.status == relations.RECORDED:
        warnings.warn(f"{case_id}: repeat runs were not bit-identical on backend {mc2.backend.name} "
                      f"(recorded, not a failure: {why})", stacklevel=2)


@pytest.mark.parametrize("case_id", _catalogued([i for i in MARN_IDS + INPLACE_IDS + V3_IDS
                                              + _of_records("rank_permutation") if not i.endswith("-w1")]))
def test_rank_order(case_id, mc2, request):
    """(4) Permuting which rank holds which shard changes no output beyond twice the suite's bound."""
    case = _case(mc2, case_id, request)
    _judge(request, mc2, relations.rank_permutation(leased_backend(mc2, case), case, mc2.seed,
                                                    accumulation=mc2.accumulation))


@pytest.mark.parametrize("case_id", _catalogued(V3_IDS[:2] + _of_records("chain_matches")))
def test_fused_matches_chain(case_id, mc2, request):
    """(5) V3 without comm scales equals the backend's chain of separate operators within twice the bound."""
    case = _case(mc2, case_id, request)
    _judge(request, mc2, relations.chain_matches(leased_backend(mc2, case), case, mc2.seed,
                                                 accumulation=mc2.accumulation))


@pytest.mark.parametrize("pair", [pytest.param(p, id=p[0].covers[0] if p[0].covers else p[0].id)
                                  for p in _twin_pairs()])
def test_same_rejections(pair, mc2, request):
    """(6) An invalid MARN case and its Inplace twin: both rejected or both accepted."""
    case, twin = pair
    case = _case(mc2, case.id, request)
    _judge(request, mc2, relations.same_rejection(leased_backend(mc2, case), case, twin, mc2.seed))
