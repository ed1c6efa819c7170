"""`--twin` (run, repro, fuzz, doctor; pytest `--mc2-twin`): the hardware backends on the CANN twin (CPU).

The plumbing runs on a fake twin (tests/fake_twin.py: `conformance.twin.prepare` answering the recording fake
CANN's install tree), so it is tested without the twin's build: option parsing and its one-line refusals, the
twin's environment reaching the rank processes (the fake's call log is named only in the twin's environment),
the report header, doctor naming a removed library, and one `mc2-conformance run --twin` end to end through pytest.
The last test runs doctor on the real twin where it can be built, else it is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import fake_cann
import fake_twin
from helpers import fake_cann_home, shape_only_pick
from conformance import doctor
from conformance.backend_setup import BUILDING
from conformance.backends.aclnn import libs
from conformance.cli import main
from conformance.context import Context, from_pytest
from conformance.options import TWIN_BACKENDS, OptionError
from conformance.sim.cann.revisions import DEFAULT as NEWEST_MODELLED

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
TWIN = "CANN twin (CPU)"  # interface.md's TARGET_TWIN, written out: the tests say what the reports must read
SMOKE_SHAPE_ONLY = "marn-MARN-BOUND-002-m_at_max-fp16-w1"  # a valid shape-only smoke case: the fake accepts it


@pytest.fixture(scope="module")
def fake_home(tmp_path_factory):
    return fake_cann_home(tmp_path_factory.mktemp("twin_cli"), "split")


@pytest.fixture
def twin_home(fake_home, tmp_path):
    """A private copy of the fake install tree, so a test may remove a piece: the one library and its names
    linked to it, as the twin's libraries all lean on libcann_twin.so."""
    home = tmp_path / "ascend"
    (home / "lib64").mkdir(parents=True)
    for f in (fake_home / "lib64").iterdir():
        if f.is_symlink():
            (home / "lib64" / f.name).symlink_to(os.readlink(f))
        else:
            shutil.copy(f, home / "lib64" / f.name)
    shutil.copy(fake_home / "version.cfg", home / "version.cfg")
    return home


@pytest.fixture
def no_cann(monkeypatch, tmp_path):
    """The runner's own environment has no CANN and no fake log: whatever reaches them came from the twin."""
    for var in ("ASCEND_HOME_PATH", libs.LIB_DIR_ENV, "FAKE_CANN_LOG", "FAKE_CANN_FAIL", "FAKE_CANN_SYNC_DELAY_MS",
                "FAKE_CANN_WORKSPACE", "FAKE_CANN_DEVICE_COUNT", "FAKE_CANN_DRIVER_VERSION",
                "ASCEND_RT_VISIBLE_DEVICES", "MC2_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "calls.jsonl"


# --- options ----------------------------------------------------------------------------------------------------

def test_the_twin_backends_are_the_hardware_ones():
    from conformance.backends import HARDWARE
    assert TWIN_BACKENDS == HARDWARE


def test_twin_options_parse_and_travel_to_pytest():
    from conformance.cli import build_parser
    from conformance.commands.common import context_of
    a = build_parser().parse_args(["run", "--backend", "torch-npu", "--twin", "--twin-revision", "c29bc10"])
    c = context_of(a)
    assert (c.twin, c.twin_revision) == (True, "c29bc10")
    args = c.args(pytest=True, always=True)
    assert "--mc2-twin" in args and args[args.index("--mc2-twin-revision") + 1] == "c29bc10"
    assert args[args.index("--mc2-twin") + 1].startswith("--")  # a switch: the flag alone, no value after it
    # the plugin reads the same spelling back; the repro line of a failing test reruns it on the twin
    back = from_pytest(lambda flag: {"--mc2-backend": "torch-npu", "--mc2-twin": True,
                                     "--mc2-twin-revision": "c29bc10"}.get(flag))
    assert back.twin and back.twin_revision == "c29bc10"
    assert "--mc2-twin" in back.repro("cases/test_x.py::t")
    assert not context_of(build_parser().parse_args(["run", "--backend", "aclnn"])).twin


def test_a_commit_prefix_names_its_revision():
    from conformance.options import BY_FLAG
    from conformance.sim.cann.revisions import get
    assert BY_FLAG["--twin-revision"].parse(get("8.5.0").commit[:9]) == "8.5.0"


@pytest.mark.parametrize("argv,words", [
    (["--backend", "aclnn", "--twin", "--twin-revision", "no-such-rev"],
     "--twin-revision 'no-such-rev': unknown sim-cann source revision 'no-such-rev'; modelled: c29bc10"),
    (["--backend", "sim", "--twin"], "--twin serves the hardware backends (aclnn, torch-npu); backend 'sim'"),
    (["--backend", "aclnn", "--twin-revision", "8.5.0"], "--twin-revision applies only with --twin"),
    (["--backend", "aclnn", "--twin", "--sim-cann-revision", "8.5.0"], "--twin takes its modelled revision from"),
])
def test_bad_twin_options_are_one_line_and_exit_2(argv, words, capsys, tmp_path):
    assert main(["run", *argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mc2-conformance run: error: ") and words in err, err
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_pytest_spelling_names_the_mc2_flag():
    with pytest.raises(OptionError, match=r"^--mc2-twin serves the hardware backends"):
        from_pytest(lambda flag: {"--mc2-backend": "sim-cann", "--mc2-twin": True}.get(flag))


def test_a_twin_that_cannot_be_built_is_one_line(monkeypatch, capsys, tmp_path):
    from conformance import twin
    monkeypatch.setattr(twin, "TwinError", getattr(twin, "TwinError", fake_twin.FakeTwinError), raising=False)

    def prepare(**_):
        raise twin.TwinError("no C compiler: `cc` is not on PATH")

    monkeypatch.setattr(twin, "prepare", prepare, raising=False)
    for argv in (["run", "--backend", "aclnn", "--twin", "--out", str(tmp_path)],
                 ["doctor", "--backend", "torch-npu", "--twin"]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert lines == [f"mc2-conformance {argv[0]}: error: --twin: the CANN twin is not available: no C compiler: "
                         f"`cc` is not on PATH"], captured
        assert "building the CANN twin" in captured.out  # the progress line came first


def test_a_twin_run_replays_on_the_twin_at_its_revision(tmp_path, capsys, monkeypatch):
    from conformance.cli import build_parser
    from conformance.commands.run import _replay_settings
    monkeypatch.delenv("MC2_BACKEND", raising=False)
    run = {"backend": "aclnn", "profile": "smoke", "seed": 3,
           "environment": {"target": TWIN, "twin revision": "8.5.0"}}
    (tmp_path / "results.jsonl").write_text(json.dumps({"run": run}) + "\n")
    a = build_parser().parse_args(["run", "--backend", "aclnn", "--replay", str(tmp_path)])
    _replay_settings(a, tmp_path)
    assert (a.twin, a.twin_revision) == (True, "8.5.0")
    assert "on the CANN twin at revision 8.5.0" in capsys.readouterr().out
    a = build_parser().parse_args(["run", "--backend", "torch-npu", "--replay", str(tmp_path)])
    _replay_settings(a, tmp_path)  # another backend than the recorded one: no twin forced on it
    assert not a.twin


# --- the environment the ranks get --------------------------------------------------------------------------------

def test_the_rank_environment_is_the_runners_plus_the_twins(twin_home):
    from conformance.backend_setup import hardware_options, runner_env
    t = fake_twin.FakeTwin(twin_home, "9.1.0")
    env = runner_env(t, {"HOME": "/home/x", "LD_LIBRARY_PATH": "/opt/real/lib64:/usr/lib", "ASCEND_HOME_PATH": "/real"})
    assert env["HOME"] == "/home/x"  # the runner's own stays
    assert env["ASCEND_HOME_PATH"] == str(twin_home) and env["MC2_TWIN_REVISION"] == "9.1.0"  # the twin's win
    assert env["LD_LIBRARY_PATH"] == f"{twin_home / 'lib64'}:/opt/real/lib64:/usr/lib"  # the twin's found first
    assert runner_env(t, {"LD_LIBRARY_PATH": str(twin_home / "lib64")})["LD_LIBRARY_PATH"] == str(twin_home / "lib64")
    assert hardware_options("aclnn", t)["lib_dir"] == str(twin_home / "lib64")
    assert "lib_dir" not in hardware_options("torch-npu", t) and hardware_options("torch-npu", t)["env"]["HOME"]


def test_an_aclnn_run_on_the_twin_reaches_the_fake_through_the_twins_environment(twin_home, no_cann, monkeypatch):
    from conformance import backend_setup, casegen
    from conformance.judge import run_case
    asked = fake_twin.install(monkeypatch, home=twin_home, log=no_cann)
    c = Context(backend="aclnn", twin=True, twin_revision="8.5.0")
    t = backend_setup.prepare_twin(c, progress=None)
    assert asked == ["8.5.0"]
    backend = backend_setup.load(c, twin=t)
    try:
        outcome = run_case(casegen.by_id(SMOKE_SHAPE_ONLY), backend, c)
        facts = backend_setup.environment(backend, t)
    finally:
        backend_setup.close(backend)
    assert outcome.passed, outcome.report()
    calls = fake_cann.read_log(no_cann)  # the log is named only in the twin's env: the rank process had it
    assert any(r["fn"] == "aclnnMatmulAllReduceAddRmsNormGetWorkspaceSize" for r in calls)
    assert facts["target"] == TWIN and facts["revision"] == "8.5.0" and facts["node"] == TWIN
    assert facts["lib libascendcl.so"] == str(twin_home / "lib64" / "libascendcl.so")
    assert facts["backend"].startswith("aclnn")  # the backend's own description is kept


def test_without_twin_no_twin_is_prepared(monkeypatch):
    from conformance import backend_setup, twin
    monkeypatch.setattr(twin, "prepare", lambda **_: pytest.fail("prepared without --twin"), raising=False)
    assert backend_setup.prepare_twin(Context(backend="aclnn")) is None
    with pytest.raises(Exception, match="not a hardware backend"):
        from conformance.backends import load_backend
        load_backend("sim", hardware_options={"env": {}})


# --- doctor -----------------------------------------------------------------------------------------------------

def test_doctor_passes_on_a_whole_twin(twin_home, no_cann, monkeypatch, capsys):
    fake_twin.install(monkeypatch, home=twin_home, log=no_cann)
    monkeypatch.setattr(doctor, "tiny_case", shape_only_pick)
    assert main(["doctor", "--backend", "aclnn", "--twin"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:2] == [f"mc2-conformance: {BUILDING}",
                         f"mc2-conformance: CANN twin (revision {NEWEST_MODELLED}) at {twin_home}, cached build"]
    assert lines[2] == f"doctor: backend aclnn on the {TWIN}, not hardware, ASCEND_HOME_PATH={twin_home}"
    assert lines[3].startswith("ok    twin") and f"{TWIN} at {twin_home}" in lines[3]
    assert "on the CANN twin (CPU): not a hardware sign-off" in out and lines[-1] == f"all good on the {TWIN}, " \
                                                                                       "not hardware"
    assert fake_cann.read_log(no_cann)  # the checks ran on the twin's libraries, with its environment


def test_a_wrong_answer_on_the_twin_has_a_repro_line_on_the_twin(twin_home, no_cann, monkeypatch):
    """The fake computes no values: one real tiny case gives a wrong answer, and its repro reruns it on the twin."""
    fake_twin.install(monkeypatch, home=twin_home, log=no_cann)
    def pick(op, world_size, backend):
        real = op == "MatmulAllReduceAddRmsNorm" and world_size == 1
        return (doctor.tiny_case if real else shape_only_pick)(op, world_size, backend)

    t = fake_twin.FakeTwin(twin_home, "8.5.0", no_cann)
    checks = doctor.run_checks("aclnn", twin=t, pick=pick, env={})
    (bad,) = [c for c in checks if c.status == doctor.PROBLEM]
    signoff = checks[-1]
    assert bad.name == "case MatmulAllReduceAddRmsNorm w=1" and "wrong answer" in bad.fix
    assert bad.fix.endswith("--backend aclnn --twin --twin-revision 8.5.0` prints every check"), bad.fix
    assert signoff.name == "signoff" and signoff.summary.endswith("; on the CANN twin (CPU): not a hardware sign-off")
    assert "MatmulAllReduceAddRmsNorm" not in signoff.data["operators"]  # it answered wrong: not signed off


def test_a_twin_without_a_driver_version_is_no_problem(twin_home, tmp_path):
    facts = {"devices": 8, "cann": "", "driver": "", "torch_npu": "2.13.0"}  # what torch_npu reports on a twin
    node = doctor.Node("torch-npu", env={"ASCEND_HOME_PATH": str(twin_home)})
    assert doctor.check_versions(node, facts, tmp_path / "none").status == doctor.PROBLEM  # a node: install one
    node.twin = fake_twin.FakeTwin(twin_home, "9.1.0")
    check = doctor.check_versions(node, facts, tmp_path / "none")
    assert check.ok and "no driver  (the CANN twin runs on the CPU)" in check.details, check


@pytest.mark.parametrize("removed", ["libhccl.so", "libfake_cann.so"])
def test_doctor_names_a_removed_twin_library(removed, twin_home, no_cann, monkeypatch, capsys):
    fake_twin.install(monkeypatch, home=twin_home, log=no_cann)
    t = fake_twin.FakeTwin(twin_home, "9.1.0", no_cann)
    (twin_home / "lib64" / removed).unlink()
    checks = doctor.run_checks("aclnn", twin=t, pick=shape_only_pick, env={})
    bad = [c for c in checks if c.status == doctor.PROBLEM]
    assert bad[0].name == "twin" and removed in bad[0].summary and removed in bad[0].details
    assert "\n" not in bad[0].fix and "\n" not in bad[0].summary
    assert bad[1].name == "libraries"  # and the backend's own check trips on it too
    if removed == "libhccl.so":
        assert str(twin_home / "lib64" / removed) in bad[1].summary
    # the command: exit 1, the missing piece named in the list of what to fix
    assert main(["doctor", "--backend", "aclnn", "--twin"]) == 1
    fixes = capsys.readouterr().out.split("what to fix:")[1]
    assert fixes.lstrip().startswith("twin: rebuild the twin") and "libraries:" in fixes


# --- reports ----------------------------------------------------------------------------------------------------

def _page(environment: dict, backend="aclnn"):
    from conformance.reporting.page import build_page, render_html, render_markdown
    from conformance.reporting.summary import summarise
    from conformance.spec import CONSTRAINTS
    from test_report import RUN, entry
    s = summarise({**RUN, "backend": backend, "environment": environment}, [entry("passed", [CONSTRAINTS[0].id])])
    page = build_page(s)
    return s, render_markdown(page), render_html(page)


def test_a_twin_run_is_never_a_hardware_sign_off_in_the_report():
    s, md, html = _page({"backend": "aclnn (C API through ctypes)", "target": TWIN, "revision": "9.1.0"})
    head = md.split("## Matrix")[0]
    assert head.startswith(f"# MC2 conformance on the {TWIN} (not a hardware sign-off): **")
    assert f"**{TWIN} run: not a hardware sign-off**" in head
    assert f"| target | {TWIN} |" in head and f"| hardware | **{TWIN} run: not a hardware sign-off** |" in head
    assert "simulator run" not in md and "sign-off: **" not in head
    assert f"{TWIN} run: not a hardware sign-off" in html.split("What was signed off")[0]
    assert s.signed_off["target"] == TWIN and s.signed_off["simulator"] is True
    assert "| revision | 9.1.0 |" in md  # the twin's facts in the environment section
    as_json = s.to_json()
    assert as_json["signed_off"]["target"] == TWIN and as_json["environments"][""]["target"] == TWIN


def test_hardware_and_simulator_headers_are_unchanged():
    _, md, _ = _page({"backend": "aclnn", "target": "hardware"})
    assert md.startswith("# MC2 conformance sign-off: **") and "not a hardware sign-off" not in md
    assert "| target | hardware |" in md
    _, md, _ = _page({"backend": "sim", "target": "simulator"}, backend="sim")
    assert md.startswith("# MC2 conformance sign-off: **") and "**simulator run: not a hardware sign-off**" in md


def test_the_diff_of_a_twin_run_says_it_is_not_hardware(tmp_path, capsys):
    for name, target in (("hw", "hardware"), ("twin", TWIN)):
        (tmp_path / name).mkdir()
        run = {"backend": "aclnn", "profile": "smoke", "seed": 0, "environment": {"backend": "aclnn", "target": target}}
        (tmp_path / name / "results.jsonl").write_text(json.dumps({"run": run}) + "\n")
    assert main(["diff", str(tmp_path / "hw"), str(tmp_path / "twin")]) == 0
    md = capsys.readouterr().out
    assert f"**not a hardware comparison: the new run is on the {TWIN}**" in md
    assert f"| target | hardware | {TWIN} |" in md
    assert main(["diff", str(tmp_path / "hw"), str(tmp_path / "hw")]) == 0
    assert "not a hardware comparison" not in capsys.readouterr().out


# --- end to end: `mc2-conformance run --twin` through pytest --------------------------------------------------------

def test_run_twin_end_to_end_on_the_fake_twin(twin_home, no_cann, monkeypatch, tmp_path, capsys):
    """The command prepares the twin (progress line), pytest gets --mc2-twin, the plugin prepares it again
    (-p fake_twin: the same fake in the subprocess) and loads the backend on it; the run's report is the twin's."""
    fake_twin.install(monkeypatch, home=twin_home, log=no_cann)
    monkeypatch.setenv("FAKE_TWIN_HOME", str(twin_home))
    monkeypatch.setenv("FAKE_TWIN_LOG", str(no_cann))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(TESTS)]))
    ids = tmp_path / "ids.txt"
    ids.write_text(SMOKE_SHAPE_ONLY + "\n")
    out = tmp_path / "run"
    monkeypatch.chdir(ROOT)
    code = main(["run", "--backend", "aclnn", "--profile", "smoke", "--twin", "-n", "1", "--selfcheck", "",
                 "--out", str(out), "--", "-p", "fake_twin", "--mc2-case-ids", str(ids), "-p", "no:randomly"])
    printed = capsys.readouterr().out
    assert "building the CANN twin" in printed
    assert f"smoke run on backend aclnn on the {TWIN}, not hardware" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["signed_off"]["target"] == TWIN, summary["signed_off"]
    (run,) = [json.loads(ln)["run"] for ln in (out / "results.jsonl").read_text().splitlines() if '"run"' in ln[:8]]
    assert run["environment"]["target"] == TWIN and run["environment"]["lib libascendcl.so"].startswith(str(twin_home))
    assert (out / "summary.md").read_text().startswith(f"# MC2 conformance on the {TWIN}")
    assert code == 0 and f"verdict PASS on the {TWIN}, not hardware" in printed, printed
    assert any(r["fn"].startswith("aclnnMatmulAllReduceAddRmsNorm") for r in fake_cann.read_log(no_cann))


# --- the real twin ----------------------------------------------------------------------------------------------

def test_doctor_on_the_real_twin_names_a_removed_library(tmp_path):
    """The real twin (built once, cached): whole, then with libhccl.so removed from a copy of its install tree
    (never from the shared cache), doctor names it twice, as the twin's piece and as the backend's library."""
    import dataclasses
    from conformance import twin
    if not hasattr(twin, "prepare") or not hasattr(twin, "TwinError"):
        pytest.skip("conformance.twin has no prepare() yet (the twin is not in this tree)")
    try:
        t = twin.prepare()
    except twin.TwinError as exc:
        pytest.skip(f"the CANN twin cannot be built here: {exc}")
    node = doctor.Node("aclnn", twin=t)
    assert t.missing() == [] and doctor.check_twin(node).ok
    home = tmp_path / "home"
    shutil.copytree(t.home, home, symlinks=True)
    copy = dataclasses.replace(t, home=home, lib_dir=home / "lib64",
                               libraries={n: home / "lib64" / p.name for n, p in t.libraries.items()},
                               env={**t.env, "ASCEND_HOME_PATH": str(home)})
    (home / "lib64" / "libhccl.so").unlink()
    checks = doctor.run_checks("aclnn", twin=copy, env={})
    assert [c.name for c in checks] == ["twin", "cann", "libraries"]  # nothing more can run
    twin_check, _, libraries = checks
    assert twin_check.status == libraries.status == doctor.PROBLEM
    assert "libhccl.so" in twin_check.summary and str(home / "lib64" / "libhccl.so") in libraries.summary


def test_doctor_twin_names_a_library_gone_from_the_twins_build(tmp_path, monkeypatch, capsys):
    """The command on the real twin, built privately (MC2_TWIN_CACHE): preparing the twin lays its install tree out
    again from its build, so a library gone from the build is what `doctor --twin` meets: one line naming it."""
    from conformance import twin
    if not hasattr(twin, "prepare") or not hasattr(twin, "TwinError"):
        pytest.skip("conformance.twin has no prepare() yet (the twin is not in this tree)")
    monkeypatch.setenv("MC2_TWIN_CACHE", str(tmp_path / "cache"))
    try:
        t = twin.prepare()
    except twin.TwinError as exc:
        pytest.skip(f"the CANN twin cannot be built here: {exc}")
    built = [p for p in (tmp_path / "cache").rglob("libhccl.so") if t.home not in p.parents]
    assert built, "the private build holds libhccl.so outside the install tree"
    for path in built:
        path.unlink()
    shutil.rmtree(t.home)
    assert main(["doctor", "--backend", "aclnn", "--twin"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mc2-conformance doctor: error: --twin: the CANN twin is not "
                                               "available") and "libhccl.so" in err[0], err


def test_doctor_twin_names_a_library_removed_from_the_install_tree(tmp_path, monkeypatch, capsys):
    """The real twin, built privately (MC2_TWIN_CACHE): twin.locate() sees the tree as it is, writing nothing, so
    `doctor --twin` names a library removed from the install tree although its prepare() puts the library back;
    prepare() rewrites only what differs (other ranks may be reading the tree while an xdist worker prepares)."""
    from conformance import twin
    if not hasattr(twin, "locate"):
        pytest.skip("conformance.twin has no locate() (the twin is not in this tree)")
    monkeypatch.setenv("MC2_TWIN_CACHE", str(tmp_path / "cache"))
    assert twin.locate() is None  # never built: nothing located, nothing written
    assert not (tmp_path / "cache").exists()
    try:
        t = twin.prepare()
    except twin.TwinError as exc:
        pytest.skip(f"the CANN twin cannot be built here: {exc}")
    found = twin.locate()
    assert found.home == t.home and found.libraries == t.libraries and found.env == t.env and found.missing() == []
    files = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in t.home.rglob("*") if p.is_file()}
    assert twin.prepare().home == t.home
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files} == files  # nothing rewritten
    removed = t.home / "lib64" / "libhccl.so"
    removed.unlink()
    assert any("libhccl.so" in m for m in twin.locate().missing()) and not removed.exists()
    monkeypatch.setattr(doctor, "COMMUNICATOR_WORLD_SIZES", ())  # the tree is the point: no rank groups
    for var in ("ASCEND_HOME_PATH", libs.LIB_DIR_ENV, "MC2_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    assert main(["doctor", "--backend", "aclnn", "--twin"]) == 1
    out = capsys.readouterr().out
    fixes = out.split("what to fix:")[1]
    assert fixes.lstrip().startswith("twin: ") and str(t.home) in fixes, out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("FAIL  twin")]
    assert str(removed) in line and "rewrote 1" in line, out
    assert removed.is_file()  # prepare() put it back: the later checks ran on a whole tree


def test_doctor_tiny_case_never_materialises_a_large_case(monkeypatch):
    """doctor --twin --backend torch-npu hung at world size 2: without MindSpeed no MARN case is runnable, and
    tiny_case materialised every candidate, up to billions of elements, to ask the backend about each."""
    from conformance.casegen import inputs
    asked = []
    real = inputs.materialise

    def materialise(case, seed):
        asked.append(case.cost)
        assert case.cost <= doctor.TINY_CASE_MAX_COST, f"{case.id}: {case.cost} elements materialised"
        return real(case, seed)

    class RunsNothing:
        def unsupported_reason(self, inv):
            return "this backend runs nothing"

    monkeypatch.setattr(inputs, "materialise", materialise)
    case, why = doctor.tiny_case("MatmulAllReduceAddRmsNorm", 2, RunsNothing())
    assert case is None and why == "this backend runs nothing" and asked
