"""No numeric check fails a legal path: every way a correct kernel may compute (the simulator's SimOptions:
allreduce_accumulation, bf16_rms_source, x3_rounding) passes every valid and exact case it affects, for seeds
0..19; and each non-default path really changes some output bits (else the first test would prove nothing).

Cost: the light cases only (no tp_layer, cost <= LIGHT_COST elements). The full product (10 paths x 20 seeds x
~450 cases) takes 4 minutes with -n 2, so each (path, seed) pair runs a rotating quarter of the path's cases
(ROTATION): over the 20 seeds every case meets every path 20 / ROTATION = 5 times.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conformance import casegen
from conformance.casegen.inputs import materialise
from conformance.judge import run_case
from conformance.sim.backend import ALLREDUCE_ACCUMULATIONS, RMS_SOURCES, X3_ROUNDINGS, SimOptions, SimulatorBackend
from conformance.context import Context

SEEDS = range(20)
ROTATION = 4  # each (path, seed) runs 1/ROTATION of the path's cases; must divide len(SEEDS)
# Elements a case moves: keeps every long-K case and the smallest k65535/n65536 bound cases (up to 2.4M elements,
# < 0.05 s each), leaves out the larger bound shapes and the realistic tp_layer cases (100M+ elements, seconds each).
LIGHT_COST = 2_500_000
MARN_OPS = ("MatmulAllReduceAddRmsNorm", "InplaceMatmulAllReduceAddRmsNorm")
V3 = "QuantMatmulAllReduceV3"


def _light():
    return [c for c in casegen.select(profile="signoff", world_sizes=(1, 2, 4, 8), kinds=("valid", "exact"))
            if "tp_layer" not in c.id and c.cost <= LIGHT_COST]


CASES = _light()


def _has(case, name: str) -> bool:
    return case.tensor_map.get(name) is not None


def _lowbit(case) -> bool:
    return _has(case, "commQuantScale1") and _has(case, "commQuantScale2")


def _paths():
    """(id, SimOptions, cases the path affects)."""
    marn = [c for c in CASES if c.op in MARN_OPS]
    for rms, acc in itertools.product(RMS_SOURCES, ALLREDUCE_ACCUMULATIONS):
        yield f"marn-rms_{rms}-acc_{acc}", SimOptions(bf16_rms_source=rms, allreduce_accumulation=acc), marn
    # x3_rounding affects the cases with an x3; the accumulation, the V3 cases summed by HCCL (not low-bit)
    for x3, acc in itertools.product(X3_ROUNDINGS, ALLREDUCE_ACCUMULATIONS):
        affected = [c for c in CASES if c.op == V3 and (_has(c, "x3") or not _lowbit(c))]
        yield f"v3-x3_{x3}-acc_{acc}", SimOptions(x3_rounding=x3, allreduce_accumulation=acc), affected


PATHS = {pid: (opts, cases) for pid, opts, cases in _paths()}


def _share(path: str, seed: int) -> list:
    """The path's cases that `seed` runs: ordered by cost (so the heavy ones spread over the slots), case i
    runs when (i + path index) % ROTATION == seed % ROTATION; the path offset makes the paths of one seed
    meet different cases."""
    offset = sorted(PATHS).index(path)
    cases = sorted(PATHS[path][1], key=lambda c: (c.cost, c.id))
    return [c for i, c in enumerate(cases) if (i + offset) % ROTATION == seed % ROTATION]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("path", sorted(PATHS))
def test_legal_path_passes(path, seed):
    opts, cases = PATHS[path][0], _share(path, seed)
    assert cases, f"no light case is affected by path {path}"
    backend = SimulatorBackend(options=opts)
    context = Context(seed=seed, with_metrics=False)
    failures = [o for o in (run_case(c, backend, context) for c in cases) if not o.passed]
    assert not failures, (f"path {path} ({opts}), seed {seed}: {len(failures)} of {len(cases)} cases fail "
                          f"on a legal numeric path:\n" + "\n".join(o.report() for o in failures))


def test_rotation_meets_every_case_on_every_path():
    assert len(SEEDS) % ROTATION == 0
    for path, (_, cases) in PATHS.items():
        met = [c.id for seed in SEEDS for c in _share(path, seed)]
        assert sorted(set(met)) == sorted(c.id for c in cases), path
        assert len(met) == len(cases) * len(SEEDS) // ROTATION, path


def test_paths_cover_the_catalogue():
    """Every path meets MARN bf16 and fp16, and V3 cases with an x3 and without low-bit, at several world sizes."""
    for pid, (_, cases) in PATHS.items():
        if pid.startswith("marn"):
            assert {c.dtype for c in cases} == {"float16", "bfloat16"}, pid
            assert {c.op for c in cases} == set(MARN_OPS), pid
        else:
            assert any(_has(c, "x3") and _lowbit(c) for c in cases), pid
            assert any(not _has(c, "x3") and not _lowbit(c) for c in cases), pid
        assert {c.world_size for c in cases} >= {1, 2, 4, 8}, pid
        assert {c.kind for c in cases} == {"valid", "exact"}, pid


def _bits(case, opts: SimOptions, seed: int = 0) -> list[dict[str, np.ndarray]]:
    results = SimulatorBackend(options=opts).invoke(materialise(case, seed))
    assert all(r.status == 0 for r in results), (case.id, [r.message for r in results])
    return [{k: np.asarray(v).view(np.uint16) for k, v in r.outputs.items()} for r in results]


def _changes(cases, default: SimOptions, other: SimOptions, output: str) -> str | None:
    """The first case (seed 0) where `output` differs in some bit between the two paths."""
    for case in cases:
        a, b = _bits(case, default), _bits(case, other)
        if any(not np.array_equal(ra[output], rb[output]) for ra, rb in zip(a, b)):
            return case.id
    return None


_DIFF = [
    # (path id, cases to look through, default, other, output that must move)
    ("bf16_rms_source=rounded_y", lambda c: c.op in MARN_OPS and c.dtype == "bfloat16",
     SimOptions(), SimOptions(bf16_rms_source="rounded_y"), "normOut"),
    ("bf16_rms_source=split_d", lambda c: c.op in MARN_OPS and c.dtype == "bfloat16",
     SimOptions(), SimOptions(bf16_rms_source="split_d"), "normOut"),
    ("split_d vs rounded_y", lambda c: c.op in MARN_OPS and c.dtype == "bfloat16",
     SimOptions(bf16_rms_source="rounded_y"), SimOptions(bf16_rms_source="split_d"), "normOut"),
    ("allreduce_accumulation=output_dtype (MARN fp16)", lambda c: c.op == MARN_OPS[0] and c.dtype == "float16",
     SimOptions(), SimOptions(allreduce_accumulation="output_dtype"), "y"),
    ("allreduce_accumulation=output_dtype (MARN bf16)", lambda c: c.op == MARN_OPS[0] and c.dtype == "bfloat16",
     SimOptions(), SimOptions(allreduce_accumulation="output_dtype"), "y"),
    ("allreduce_accumulation=output_dtype (V3)", lambda c: c.op == V3 and not _lowbit(c),
     SimOptions(), SimOptions(allreduce_accumulation="output_dtype"), "output"),
    ("x3_rounding=fused", lambda c: c.op == V3 and _has(c, "x3"),
     SimOptions(), SimOptions(x3_rounding="fused"), "output"),
]


@pytest.mark.parametrize("what,pick,default,other,output", _DIFF, ids=[d[0] for d in _DIFF])
def test_path_changes_output_bits(what, pick, default, other, output):
    cases = [c for c in CASES if pick(c) and not c.shape_only and c.cost > 0]
    assert cases, what
    assert _changes(cases, default, other, output), (
        f"{what}: {output} is bit-identical to the other path on all {len(cases)} light cases (seed 0); "
        "the path test would prove nothing")
