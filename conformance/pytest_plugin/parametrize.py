"""Parametrization: the cases of a test (pytest_generate_tests), the collection's order and selection (replay
ids, fuzz opt-in, rank-group and cost order, --mc2-first), the coverage file, and xdist's tuning."""

from __future__ import annotations

import json
import os

import pytest

from .. import casegen
from .options import active, is_suite_item, settings

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def xdist_defaults(*, workers: int, cpus: int, env, dist: str, maxschedchunk: int | None) -> tuple[dict, int | None]:
    """(environment for the workers, xdist's maxschedchunk) for a run of the suite's cases on `workers` xdist
    workers (values the user set win):
    - BLAS threads: cpus // workers per worker. numpy's OpenBLAS otherwise starts a thread per CPU in every
      worker and spins them between the reference's many small products: on 2 cores, two workers each
      running an 8-rank tensor-parallel layer took 3x as long side by side as alone (measured, bench/README).
    - one case at a time to each worker (maxschedchunk 1): the items are ordered largest first
      (pytest_collection_modifyitems), and xdist's default first chunks of consecutive items would give all
      of the large cases to one worker."""
    if workers <= 1:
        return {}, maxschedchunk
    threads = str(max(1, cpus // workers))
    env_updates = {var: threads for var in BLAS_THREAD_VARIABLES if var not in env}
    if dist == "load" and maxschedchunk is None:
        maxschedchunk = 1
    return env_updates, maxschedchunk


def _tune_xdist(config) -> None:
    if config.getoption("dist", "no") == "no":
        return
    workers = len(config.getoption("tx", None) or ())  # xdist's worker count, after -n auto and --maxprocesses
    env_updates, chunk = xdist_defaults(workers=workers, cpus=os.cpu_count() or 1, env=os.environ,
                                        dist=config.getoption("dist", "no"),
                                        maxschedchunk=config.getoption("maxschedchunk", None))
    os.environ.update(env_updates)  # the workers are started after configure and inherit it
    if chunk is not None:
        config.option.maxschedchunk = chunk


def pytest_configure(config):
    if active(config) is not None and not hasattr(config, "workerinput"):  # the xdist controller, before it
        _tune_xdist(config)                                                  # starts the workers


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("mc2_cases")
    if marker is None or "case" not in metafunc.fixturenames:
        return
    s = settings(metafunc.config)
    cases = casegen.select(profile=s.profile, world_sizes=s.world_sizes, **marker.kwargs)
    if s.operators:  # --operators: only the named operators' cases
        cases = [c for c in cases if c.op in s.operators]
    metafunc.parametrize("case", [pytest.param(c, id=c.id, marks=pytest.mark.covers(*c.covers)) for c in cases])


def _case_of(item):
    """The test's `case` parameter (a Case), or None (also for the placeholder pytest gives an empty case list,
    e.g. an operator or world size that --operators / --world-sizes leaves without cases)."""
    case = getattr(getattr(item, "callspec", None), "params", {}).get("case")
    return case if hasattr(case, "world_size") else None


def _case_id_of(item) -> str | None:
    """The case a test runs: its `case` parameter, else its parametrize id (relation tests name their case
    there), as `mc2-conformance diff` reads it back from the node id."""
    return getattr(_case_of(item), "id", None) or getattr(getattr(item, "callspec", None), "id", None)


def _operators_of(item, op_of: dict) -> set:
    """The operators whose cases a test runs: its Case parameters (alone or in tuples) and its case id."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    values = [v for p in params.values() for v in (p if isinstance(p, tuple) else (p,))]
    found = {v.op for v in values if hasattr(v, "world_size") and hasattr(v, "op")}
    by_id = op_of.get(_case_id_of(item))
    return found | ({by_id} if by_id else set())


def pytest_collection_modifyitems(session, config, items):
    if active(config) is None and not any(is_suite_item(item) for item in items):
        return
    ops = settings(config).operators
    if ops:  # --operators also drops the cases other tests parametrize themselves (golden cases, relations)
        op_of = {c.id: c.op for c in casegen.catalogue()}
        dropped = [item for item in items if not _operators_of(item, op_of) <= set(ops)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in dropped]
    ids = settings(config).case_ids
    if ids is not None:  # --mc2-case-ids: only these cases (a replay); tests without a case (fuzz) go too
        dropped = [item for item in items if _case_id_of(item) not in ids]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if _case_id_of(item) in ids]
    if settings(config).fuzz_examples <= 0:
        fuzz = [item for item in items if item.get_closest_marker("mc2_fuzz")]
        if fuzz:
            config.hook.pytest_deselected(items=fuzz)
            items[:] = [item for item in items if not item.get_closest_marker("mc2_fuzz")]
    grouped = getattr(settings(config).backend, "reuses_rank_groups", False)
    if grouped:
        # rank worker groups live as long as consecutive tests share a world size: order tests by it (stable)
        items.sort(key=lambda item: getattr(_case_of(item), "world_size", 0))
    first = {c for c in config.getoption("--mc2-first").split(",") if c}
    if first:  # tests covering `first` go first, cheapest first; the rest keep the catalogue order

        def key(item):
            covers = any(first & set(m.args) for m in item.iter_markers("covers"))
            return (0, getattr(_case_of(item), "cost", 0)) if covers else (1, 0)

        items.sort(key=key)
    elif not grouped:
        # dearest cases first (the host-time estimate: products and elements), so xdist can spread them over the
        # workers (xdist_defaults) instead of one worker finishing a tail of them alone
        items.sort(key=lambda item: -_host_seconds(_case_of(item)))


def _host_seconds(case) -> float:
    """The case's estimated host-side seconds (casegen/estimate.py); 0 for a test without a case."""
    if case is None or case.shape_only:
        return 0.0
    from ..casegen import estimate
    try:
        return estimate.of_case(case).host_seconds
    except Exception:  # an operator without a record's shapes (a stand-in's case): its element count orders it
        return case.cost * 1e-8


def pytest_collection_finish(session):
    path = session.config.getoption("--mc2-coverage")
    if not path:
        return
    coverage = {}
    for item in session.items:
        for mark in item.iter_markers("covers"):
            for cid in mark.args:
                coverage.setdefault(cid, []).append(item.nodeid)
    with open(path, "w") as f:
        json.dump({"tests": len(session.items), "coverage": coverage}, f)
