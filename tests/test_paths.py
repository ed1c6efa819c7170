"""Path coverage (conformance/path_coverage.py, issue 20): which cases reach each side of each implementation
decision on each platform, the `paths` command, the run's record of it (summary.json, the verdict page, diff), and
THE gate: over the real path models and the signoff profile, every side is reached on both platforms or its model
states why not.

The unit tests use fake branches and hand-made cases whose placement is worked out by hand below; the gate uses the
real records."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from conformance import casegen, cli, operators, path_coverage, results
from conformance.casegen.model import VALID_WORLD_SIZES, Case, TensorSpec
from conformance.path_coverage import PathModel, PathModelError
from conformance.reporting import diff, summarise
from conformance.reporting.page import build_page, render_markdown
from conformance.results import NO_REASON, PathCoverage, RunEntry, Summary, TestEntry
from conformance.sim.cann.paths import Branch, Side

OP = "FakeOp"  # the fake model's operator: no registered operator is touched by the unit tests

TAIL = Branch("FAKE-TAIL", "host tiling", "whether m leaves a tail turn of fewer than 8 rows",
              (Side("tail", "m % 8 != 0"), Side("no_tail", "m % 8 == 0")), "fake/tiling.cpp:10", (OP,))
MODE = Branch("FAKE-MODE", "kernel", "the norm's mode by n",
              (Side("single", "n <= 32"), Side("split", "32 < n <= 4096"),
               Side("huge", "n > 4096", unreached="hardware-only: n beyond what the simulator holds")),
              "fake/kernel.h:20", (OP,), moved=(("9.0.0", "fake/kernel_v2.h:30"),))
CORES = Branch("FAKE-CORES", "host tiling", "one wave of m rows over the cube cores, or several",
               (Side("one_wave", "m <= cube cores"), Side("waves", "m > cube cores")), "fake/tiling.cpp:40", (OP,),
               platform_dependent=True)
OLD = Branch("FAKE-OLD", "kernel", "a decision only the baseline has", (Side("a", "always"), Side("b", "never",
             unreached="unreachable: the baseline's dead code")), "fake/old.h:5", (OP,), revisions=("c29bc10",))


def fake_decide(q):
    m, n = q.shape("x1")[0], q.shape("x2")[1]
    if m == 3:
        raise AssertionError("a rejected case must never reach the decisions")
    taken = {"FAKE-TAIL": "tail" if m % 8 else "no_tail", "FAKE-MODE": "single" if n <= 32 else "split",
             "FAKE-CORES": "one_wave" if m <= q.platform.cube_cores else "waves"}
    if q.revision == "c29bc10":
        taken["FAKE-OLD"] = "a"
    return taken


MODEL = {OP: PathModel((TAIL, MODE, CORES, OLD), fake_decide)}


def case(cid, *, m, n, rejects=False, shape_only=False, world_size=2, op=OP) -> Case:
    tensors = (("x1", TensorSpec("float16", (m, 16), "normal")), ("x2", TensorSpec("float16", (16, n), "normal")))
    return Case(cid, op, world_size, tensors, (("epsilon", 1e-6),), rejects, (), "valid", "smoke",
                shape_only=shape_only)


# c1: m 16 = 2 * 8 (no tail), n 32 (single), 16 <= 20 and <= 24 cube cores (one wave on both platforms)
# c2: m 21 = 2 * 8 + 5 (tail), n 64 (split), 21 <= 24 (one wave on a2-24c) but 21 > 20 (waves on a2-20c)
# c3: shape-only, m 40 = 5 * 8 (no tail), its kernel never runs (no FAKE-MODE), 40 > 24 and > 20 (waves on both)
# c4: rejected: reaches nothing (fake_decide raises if asked about it)
CASES = [case("c1", m=16, n=32), case("c2", m=21, n=64), case("c3", m=40, n=64, shape_only=True),
         case("c4", m=3, n=8, rejects=True)]


def reached(cov: PathCoverage) -> dict:
    return {(b.id, s.name): {p: list(s.reached.get(p, ())) for p in cov.platforms} for b in cov.branches
            for s in b.sides}


# ---- (a) the counts, (b) the rules ------------------------------------------------------------------------------

def test_each_side_lists_the_cases_reaching_it_per_platform():
    cov = path_coverage.coverage(CASES, revision="master", by_op=MODEL)
    assert cov.platforms == ("a2-24c", "a2-20c") and cov.revision == "master"
    assert reached(cov) == {
        ("FAKE-TAIL", "tail"): {"a2-24c": ["c2"], "a2-20c": ["c2"]},
        ("FAKE-TAIL", "no_tail"): {"a2-24c": ["c1", "c3"], "a2-20c": ["c1", "c3"]},
        ("FAKE-MODE", "single"): {"a2-24c": ["c1"], "a2-20c": ["c1"]},
        ("FAKE-MODE", "split"): {"a2-24c": ["c2"], "a2-20c": ["c2"]},  # not c3: shape-only, no kernel
        ("FAKE-MODE", "huge"): {"a2-24c": [], "a2-20c": []},
        ("FAKE-CORES", "one_wave"): {"a2-24c": ["c1", "c2"], "a2-20c": ["c1"]},
        ("FAKE-CORES", "waves"): {"a2-24c": ["c3"], "a2-20c": ["c2", "c3"]},
    }  # FAKE-OLD: absent at master, left out
    # 3 branches; 2 + 3 + 2 = 7 sides; every side but FAKE-MODE/huge reached on each platform: 6 and 6
    assert cov.counts() == {"branches": 3, "sides": 7, "cases": 4, "reached": {"a2-24c": 6, "a2-20c": 6},
                            "unreached_without_reason": 0}
    assert cov.totals_line() == "3 branches, 7 sides, 6 reached on a2-24c, 6 on a2-20c"
    assert [(u.branch, u.side, u.platform, u.reason) for u in cov.unreached()] == [
        ("FAKE-MODE", "huge", p, "hardware-only: n beyond what the simulator holds") for p in ("a2-24c", "a2-20c")]
    assert next(b for b in cov.branches if b.id == "FAKE-MODE").source == "fake/kernel.h:20"


def test_rejected_cases_reach_nothing_and_shape_only_cases_only_the_host_tiling():
    cov = path_coverage.coverage([CASES[3]], by_op=MODEL)  # fake_decide would raise on it
    assert not any(ids for sides in reached(cov).values() for ids in sides.values())
    shape_only = path_coverage.coverage([CASES[2]], by_op=MODEL)
    stages = {b.stage for b in shape_only.branches for s in b.sides if any(s.reached.values())}
    assert stages == {"host tiling"}
    launched = path_coverage.coverage([case("c3", m=40, n=64)], by_op=MODEL)  # the same shapes, launched
    assert {b.stage for b in launched.branches for s in b.sides if any(s.reached.values())} == {"host tiling",
                                                                                                   "kernel"}


def test_the_revision_decides_which_branches_count_and_where_they_are_cited():
    cov = path_coverage.coverage(CASES[:1], revision="c29bc10", by_op=MODEL)
    assert [b.id for b in cov.branches] == ["FAKE-TAIL", "FAKE-MODE", "FAKE-CORES", "FAKE-OLD"]
    assert reached(cov)[("FAKE-OLD", "a")] == {"a2-24c": ["c1"], "a2-20c": ["c1"]}
    assert next(b for b in path_coverage.coverage(CASES[:1], revision="9.0.0", by_op=MODEL).branches
                if b.id == "FAKE-MODE").source == "fake/kernel_v2.h:30"
    only = path_coverage.coverage(CASES[:2], platforms=["a2-20c"], by_op=MODEL)
    assert only.platforms == ("a2-20c",) and only.counts()["reached"] == {"a2-20c": 6}


def test_a_model_deciding_what_it_does_not_declare_is_an_error_naming_the_case():
    bad = {OP: PathModel((TAIL,), lambda q: {"FAKE-TAIL": "sideways"})}
    with pytest.raises(PathModelError, match="case c1: .*FAKE-TAIL='sideways'"):
        path_coverage.coverage(CASES[:1], by_op=bad)
    stale = {OP: PathModel((OLD,), lambda q: {"FAKE-OLD": "a"})}  # decides a branch absent at master
    with pytest.raises(PathModelError, match="absent at revision master"):
        path_coverage.coverage(CASES[:1], revision="master", by_op=stale)


def test_an_unreached_side_without_a_reason_is_named():
    no_reason = MODE.__class__(**{**MODE.__dict__, "sides": MODE.sides[:2] + (Side("huge", "n > 4096"),)})
    cov = path_coverage.coverage(CASES, by_op={OP: PathModel((TAIL, no_reason, CORES), fake_decide)})
    assert [(u.branch, u.side, u.reason) for u in cov.without_reason()] == [("FAKE-MODE", "huge", NO_REASON)] * 2
    assert cov.counts()["unreached_without_reason"] == 2


def test_the_whole_catalogue_is_placed_in_well_under_a_second():
    import time
    cases = casegen.catalogue()  # built once per process (not timed: the catalogue's own cost)
    model = PathModel((TAIL, MODE, CORES), lambda q: {"FAKE-TAIL": "tail", "FAKE-MODE": "single",
                                                      "FAKE-CORES": "waves"})
    start = time.process_time()  # CPU seconds: a loaded machine's waits are not the placement's cost
    cov = path_coverage.coverage(cases, by_op={name: model for name in operators.names()})
    assert time.process_time() - start < 1.0 and len(cov.cases) == len(cases)


# ---- the record: JSON, merge, summary.json, the page, diff ----------------------------------------------------------

def test_the_coverage_round_trips_through_json_and_nodes_merge_by_union():
    cov = path_coverage.coverage(CASES, by_op=MODEL)
    back = PathCoverage.from_dict(json.loads(json.dumps(cov.to_dict())))
    assert back == cov
    assert PathCoverage.from_dict(json.loads(json.dumps(cov.to_dict(ids=True)))) == cov
    side = cov.to_dict()["branches"][0]["sides"][1]  # FAKE-TAIL / no_tail: c1 and c3 = indexes 0 and 2
    assert side["cases"] == {"a2-24c": [0, 2], "a2-20c": [0, 2]} and side["reached"] == {"a2-24c": 2, "a2-20c": 2}
    one = path_coverage.coverage(CASES[:1], by_op=MODEL)
    two = path_coverage.coverage(CASES[1:], by_op=MODEL)
    assert PathCoverage.merge([one, None, two]) == cov


def _log(path, cov: PathCoverage | None, entries=()):
    results.append(path, RunEntry(backend="sim", profile="smoke", world_sizes=[2], seed=0))
    for e in entries:
        results.append(path, TestEntry.from_dict(e))
    if cov is not None:
        results.append(path, cov)
    return path


def test_summary_json_carries_the_paths_and_the_page_shows_them(tmp_path):
    from conformance.reporting import write_summary
    cov = path_coverage.coverage(CASES, by_op=MODEL)
    s = write_summary(_log(tmp_path / "results.jsonl", cov), tmp_path, allure_built=False)
    d = json.loads((tmp_path / "summary.json").read_text())
    assert d["paths"]["counts"]["reached"] == {"a2-24c": 6, "a2-20c": 6}
    assert d["paths"]["totals"] == "3 branches, 7 sides, 6 reached on a2-24c, 6 on a2-20c"
    back = Summary.read_json(tmp_path / "summary.json")
    assert back.paths == s.paths == cov
    md = render_markdown(build_page(back))
    section = md.split("## Implementation paths", 1)[1].split("\n## ", 1)[0]
    assert "**3 branches, 7 sides, 6 reached on a2-24c, 6 on a2-20c**" in section
    assert "| FAKE-CORES | waves | 1 | 2 |  |" in section  # c3 on a2-24c; c2 and c3 on a2-20c
    assert "| FAKE-MODE | huge | 0 | 0 | hardware-only: n beyond what the simulator holds |" in section
    old = summarise(RunEntry(), [])
    assert "not recorded" in render_markdown(build_page(old)).split("## Implementation paths", 1)[1]


def test_the_plugin_places_only_the_judged_cases(monkeypatch, tmp_path):
    from conformance.pytest_plugin import results_log
    ids = sorted(c.id for c in casegen.catalogue() if not c.rejects and not c.shape_only)[:3]
    model = PathModel((TAIL,), lambda q: {"FAKE-TAIL": "tail"})
    monkeypatch.setattr(path_coverage, "models", lambda: {name: model for name in operators.names()})
    monkeypatch.setattr(results_log, "settings", lambda config: SimpleNamespace(waivers=None))
    log = object.__new__(results_log.ResultsLog)
    log.path, log.revision, log.judged = str(tmp_path / "results.jsonl"), None, set()

    def report(cid, outcome="passed", category="pass"):
        mc2 = json.dumps({"case_id": cid, "category": category})
        return SimpleNamespace(nodeid=f"t[{cid}]", when="call", outcome=outcome, duration=0.0, longrepr=None,
                               user_properties=[("mc2", mc2)])

    log.pytest_runtest_logreport(report(ids[0]))
    log.pytest_runtest_logreport(report(ids[1], outcome="failed", category="tolerance"))  # judged: it failed
    log.pytest_runtest_logreport(report(ids[2], category="unsupported"))  # not run by the backend
    log.pytest_runtest_logreport(report("not-in-the-catalogue"))  # a fuzz draw: not placed
    log.pytest_sessionfinish(SimpleNamespace(config=None))
    cov = results.read_log(log.path).run.paths
    assert cov.cases == tuple(sorted(ids[:2])) and cov.revision == "master"
    assert cov.branches[0].sides[0].reached == {"a2-24c": tuple(sorted(ids[:2])), "a2-20c": tuple(sorted(ids[:2]))}


def test_diff_reports_sides_newly_reached_and_no_longer_reached(tmp_path):
    old = path_coverage.coverage(CASES[:1], by_op=MODEL)  # c1 only
    new = path_coverage.coverage(CASES[1:], by_op=MODEL)  # c2, c3 (c4 rejected)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _log(tmp_path / "a" / "results.jsonl", old)
    _log(tmp_path / "b" / "results.jsonl", new)
    d = diff.compare(tmp_path / "a", tmp_path / "b")
    rows = lambda key: {(r["branch"], r["side"], r["platform"], r["old"], r["new"]) for r in d["paths"][key]}  # noqa
    # c1 reached tail? no (m 16): no_tail, single, one_wave. c2: tail, split, one_wave (24c) / waves (20c);
    # c3 (shape-only): no_tail, waves. So new reaches tail, split, waves on both and loses single, and one_wave on
    # a2-20c (c2 has 21 > 20 rows there)
    assert rows("newly_reached") == {("FAKE-TAIL", "tail", p, 0, 1) for p in ("a2-24c", "a2-20c")} | {
        ("FAKE-MODE", "split", p, 0, 1) for p in ("a2-24c", "a2-20c")} | {
        ("FAKE-CORES", "waves", "a2-24c", 0, 1), ("FAKE-CORES", "waves", "a2-20c", 0, 2)}
    assert rows("no_longer_reached") == {("FAKE-MODE", "single", p, 1, 0) for p in ("a2-24c", "a2-20c")} | {
        ("FAKE-CORES", "one_wave", "a2-20c", 1, 0)}
    assert d["counts"]["paths"] == 9 and diff.gate(d, ("paths",)) == 1 and diff.gate(d) == 0
    assert not any(e["key"].startswith("paths") for e in d["environment"])
    md = render_markdown(diff.build_page(d))
    assert "Implementation paths (9)" in md and "| FAKE-MODE | single | a2-24c | 1 | 0 | no longer reached |" in md
    same = diff.compare(tmp_path / "a", tmp_path / "a")
    assert same["counts"]["paths"] == 0


# ---- (c) the command --------------------------------------------------------------------------------------------

def _fake_records(monkeypatch, reason: str, one_reason: str = ""):
    """Every registered operator gets one fake decision on the world size, whose side "never" no case reaches
    (with `reason` stated, or none); `one_reason`: a reason stated for the side "one", which cases do reach."""
    ranks = Branch("FAKE-RANKS", "host tiling", "one rank or several",
                   (Side("one", "world size 1", unreached=one_reason), Side("several", "world size > 1"),
                    Side("never", "world size 0", unreached=reason)), "fake/ranks.cpp:1", operators.names())
    model = PathModel((ranks,), lambda q: {"FAKE-RANKS": "one" if q.world_size == 1 else "several"})
    monkeypatch.setattr(path_coverage, "models", lambda: {name: model for name in operators.names()})


def test_the_command_exits_1_on_an_unreached_side_without_a_reason_and_0_with_one(monkeypatch, capsys):
    _fake_records(monkeypatch, reason="")
    assert cli.main(["paths", "--profile", "smoke"]) == 1
    out = capsys.readouterr().out
    assert "FAKE-RANKS / never on a2-24c, a2-20c: NO REASON" in out and "unreached without a stated reason" in out
    _fake_records(monkeypatch, reason="unreachable: no world has 0 ranks")
    assert cli.main(["paths", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    smoke = casegen.select(profile="smoke", world_sizes=VALID_WORLD_SIZES)
    one = sum(c.world_size == 1 and not c.rejects for c in smoke)
    assert f"  one: a2-24c: {one} (" in out and "FAKE-RANKS / never on a2-24c, a2-20c: unreachable" in out
    assert "reached although" not in out
    _fake_records(monkeypatch, reason="unreachable: no world has 0 ranks", one_reason="unreachable: stale")
    assert cli.main(["paths", "--profile", "smoke"]) == 0  # informational only
    assert "reached although their model states why none would be (1):\n  FAKE-RANKS / one: unreachable: stale" in (
        capsys.readouterr().out)


def test_the_commands_json_lists_every_case_id(monkeypatch, capsys):
    _fake_records(monkeypatch, reason="unreachable: no world has 0 ranks")
    assert cli.main(["paths", "--profile", "smoke", "--platform", "a2-20c", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    smoke = casegen.select(profile="smoke", world_sizes=VALID_WORLD_SIZES)
    several = sorted(c.id for c in smoke if c.world_size > 1 and not c.rejects)
    assert d["platforms"] == ["a2-20c"] and d["branches"][0]["sides"][1]["cases"] == {"a2-20c": several}


@pytest.mark.parametrize("args,message", [
    (["--profile", "nope"], "--profile 'nope': expected one of smoke, signoff, full"),
    (["--revision", "7.0"], "--revision: unknown sim-cann source revision '7.0'"),
    (["--platform", "a3"], "--platform: unknown platform 'a3'; modelled: a2-24c, a2-20c"),
])
def test_the_command_refuses_unknown_names_in_one_line(capsys, args, message):
    assert cli.main(["paths", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


# ---- THE gate ---------------------------------------------------------------------------------------------------

def unreached_without_reason() -> list[str]:
    """Over the real path models and the signoff profile (every world size): the sides no case reaches on a
    platform whose model states no reason."""
    cases = casegen.select(profile="signoff", world_sizes=VALID_WORLD_SIZES)
    cov = path_coverage.coverage(cases)
    assert len(cov.platforms) == 2 and len(cov.cases) == len(cases)
    return [f"{u.branch} / {u.side} on {u.platform}" for u in cov.without_reason()]


def test_gate_every_side_is_reached_on_both_platforms_or_states_why():
    missing = unreached_without_reason()
    assert not missing, ("sides no signoff case reaches, with no stated reason (add a case that reaches it, or "
                         "state why none can in its Side.unreached): " + "; ".join(missing))


def test_the_gate_fails_on_a_side_no_case_reaches(monkeypatch):
    real = path_coverage.models()
    first = next(iter(real))
    extra = Branch("FAKE-NEVER", "kernel", "a decision no case meets", (Side("x", "never"),), "fake:1", (first,))
    monkeypatch.setattr(path_coverage, "models", lambda: {
        **real, first: PathModel(real[first].branches + (extra,), real[first].decide)})
    assert unreached_without_reason() == ["FAKE-NEVER / x on a2-24c", "FAKE-NEVER / x on a2-20c"]
