"""The path-designed cases (conformance/casegen/path_design.py): frozen and fresh agree, every designed case is
valid and earns its place, and the cases moved to `full` leave no side of signoff unreached."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance import casegen, operators
from conformance.casegen import path_design
from conformance.casegen.inputs import materialise
from conformance.casegen.model import Case
from conformance.sim.cann.paths import PLATFORMS


def _items(cases, *, dtype: bool = False) -> set:
    got = set()
    for c in cases:
        for p in PLATFORMS:
            for bid, side in path_design.reaches(c, revision="master", platform=p).items():
                got.add((c.op, c.dtype, p.name, bid, side) if dtype else (p.name, bid, side))
    return got


def test_the_frozen_cases_are_what_the_models_design_now():
    """A model, candidate or catalogue change that moves the design leaves the frozen file stale: rewrite it with
    `mc2-conformance paths --write-cases` (and review the diff of conformance/data/path_cases.json)."""
    fresh = path_design.design(casegen.catalogue_without_path_cases())
    frozen = path_design.frozen()
    assert [c.id for c in fresh] == [c.id for c in frozen], "stale: run `mc2-conformance paths --write-cases`"
    assert fresh == frozen


def test_every_designed_case_is_a_valid_signoff_case_that_reaches_a_side_nothing_else_reaches():
    frozen = path_design.frozen()
    assert frozen, "no path-designed cases"
    for case in frozen:
        assert case.profile == "signoff" and case.kind == "valid" and not case.rejects and not case.shape_only
        inv = materialise(replace(case, shape_only=True), 0)  # descriptors only: the contract's host checks
        validate = operators.get(case.op).validate.load()
        assert all(validate(case.op, dict(t), dict(inv.attrs), case.world_size)[0] == 0 for t in inv.ranks), case.id
        sides = dict(case.params)["path_sides"]
        assert sides, case.id
    # greedy order: each case was taken for sides that the cases before it (and the rest of signoff) left open
    before = _items(c for c in casegen.catalogue_without_path_cases() if c.in_profile("signoff"))
    for case in frozen:
        mine = _items([case])
        claimed = {tuple(s.replace("@", "=").split("=")) for s in dict(case.params)["path_sides"]}
        assert {(p, b, s) for b, s, p in claimed} <= mine, case.id
        before |= mine


def test_cases_moved_to_full_leave_no_side_of_theirs_unreached_in_signoff():
    catalogue = casegen.catalogue()
    moved = [c for c in catalogue if c.notes.startswith("in full, not signoff")]
    assert moved, "the realistic layers moved to full carry their reason in notes"
    signoff = _items(c for c in catalogue if c.in_profile("signoff"))
    for case in moved:
        assert case.profile == "full"
        missing = _items([case]) - signoff
        assert not missing, f"{case.id} moved to full, but signoff no longer reaches {sorted(missing)[:3]}"


def test_the_design_covers_what_is_open_and_nothing_more(monkeypatch):
    """Worked on a three-candidate pool of MARN: with the tile turn's SplitD reached by no other case, the cheaper
    of two candidates reaching it is taken (1 x 16384 at world 1, not 8 ranks), once; a candidate reaching only
    covered sides is not."""
    from conformance.casegen import marn
    from conformance.operators import record
    pool = [marn._path_case(marn.OP, "float16", 8, 1, 16, 16384, False, True),
            marn._path_case(marn.OP, "float16", 1, 1, 16, 16384, False, True),
            marn._path_case(marn.OP, "float16", 1, 4, 16, 32, False, True)]
    monkeypatch.setitem(record._LOADED, "conformance.casegen.marn:path_candidates", lambda: pool)
    monkeypatch.setattr(operators, "all_operators", lambda: (operators.get(marn.OP),))

    def split_d(c: Case) -> bool:
        return any(path_design.reaches(c, revision="master", platform=p).get("MARN-ARN-MODE-TILE") == "SplitD"
                   for p in PLATFORMS)
    assert split_d(pool[0]) and split_d(pool[1]) and not split_d(pool[2])
    others = tuple(c for c in casegen.catalogue() if c.op == marn.OP and not split_d(c))
    chosen = path_design.design(others + (pool[2],))
    assert [c.id for c in chosen] == [pool[1].id]
    assert "MARN-ARN-MODE-TILE=SplitD@a2-24c" in dict(chosen[0].params)["path_sides"]
    # everything reached already: nothing to add
    assert path_design.design(others + tuple(pool)) == []


def test_the_cost_orders_candidates_by_size():
    from conformance.casegen import marn
    small = marn._path_case(marn.OP, "float16", 1, 4, 16, 32, False, True)
    wider = marn._path_case(marn.OP, "float16", 8, 4, 16, 32, False, True)
    deeper = marn._path_case(marn.OP, "float16", 1, 4, 4096, 32, False, True)
    big = marn._path_case(marn.OP, "float16", 1, 4096, 512, 16384, False, True)
    assert path_design.sim_cost(small) < path_design.sim_cost(wider) < path_design.sim_cost(big)
    assert path_design.sim_cost(small) < path_design.sim_cost(deeper)


def test_a_corrupted_frozen_file_is_one_line(tmp_path):
    bad = tmp_path / "path_cases.json"
    bad.write_text("{not json")
    with pytest.raises(path_design.PathCasesFileError) as info:
        path_design.frozen(bad)
    assert "\n" not in str(info.value) and "--write-cases" in str(info.value)
