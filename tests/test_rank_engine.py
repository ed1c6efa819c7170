"""The rank engine: persistent per-rank worker groups, shared-memory transport, deadlines, crash isolation,
no orphans; and the simulator's process mode on it (bit-identical to the in-process simulator)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from conformance import casegen
from conformance.casegen.inputs import materialise
from conformance.engine import ProgramError, RankEngine
from conformance.engine.arena import Arena, BumpAllocator
from conformance.engine.wire import pack, unpack
from conformance.judge import run_case
from conformance.protocol import Invocation, TensorArg
from conformance.sim import SimulatorBackend
from conformance.sim.process_backend import SimProcessBackend
from conformance.context import Context

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
ECHO = "engine_programs:EchoProgram"


def _processes_with(marker: str) -> list[int]:
    """Live processes whose environment carries `marker` (the workers inherit it from the test's engine)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in env and state != "Z":
            found.append(int(pid))
    return found


def _wait_gone(marker: str, timeout: float = 5.0) -> list[int]:
    end = time.monotonic() + timeout
    while (left := _processes_with(marker)) and time.monotonic() < end:
        time.sleep(0.05)
    return left


@pytest.fixture
def marker(monkeypatch):
    mark = f"MC2_ENGINE_TEST={uuid.uuid4().hex}"
    monkeypatch.setenv("MC2_ENGINE_TEST", mark.split("=", 1)[1])
    yield mark
    assert _wait_gone(mark) == [], "a worker process outlived the test"


def _engine(**kw) -> RankEngine:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]))
    return RankEngine(program=ECHO, env=env, **kw)


def _echo_invocation(world: int, *, devices=(), transposed=False, case_id="echo") -> Invocation:
    ranks = []
    for r in range(world):
        base = np.arange(12, dtype=np.float16).reshape(3, 4) + r
        arr = base.T if transposed else base
        ranks.append({"x1": TensorArg.from_array(arr, "float16"), "bias": None})
    return Invocation("echo", world, tuple(ranks), {}, case_id=case_id, devices=tuple(devices))


def test_a_group_lives_across_invocations_and_restarts_for_another_world_size(marker):
    engine = _engine()
    try:
        first = engine.run(_echo_invocation(2))
        second = engine.run(_echo_invocation(2))
        pids = [int(r.outputs["meta"][2]) for r in first]
        assert [int(r.outputs["meta"][2]) for r in second] == pids, "same processes on the second call"
        assert [int(r.outputs["meta"][1]) for r in second] == [2, 2], "the program object persisted"
        assert first[0].message.startswith("token-from-0-") and first[1].message == first[0].message
        engine.run(_echo_invocation(4))
        assert engine.groups_started == 2 and not any(p in _processes_with(marker) for p in pids)
    finally:
        engine.close()


def test_tensors_arrive_with_their_layout_and_allgather_sums_across_processes(marker):
    engine = _engine()
    try:
        results = engine.run(_echo_invocation(4, devices=(4, 5, 6, 7), transposed=True))
    finally:
        engine.close()
    base = np.arange(12, dtype=np.float16).reshape(3, 4)
    for r, res in enumerate(results):
        np.testing.assert_array_equal(res.outputs["x1"], (base + r).T)
        assert tuple(res.outputs["meta"][3:]) == (1, 4), "the transposed view kept its strides"
        assert int(res.outputs["meta"][0]) == 4 + r, "rank r runs on the r-th leased device"
        expected = sum((base + q).T.astype(np.float32) * (q + 1) for q in range(4))
        np.testing.assert_array_equal(res.outputs["gathered_sum"].astype(np.float32), expected)


def test_arrays_travel_by_shared_memory_slot_and_only_overflow_is_pickled():
    arena = Arena.create(1 << 16)
    try:
        alloc = BumpAllocator(0, 4096)
        big = np.arange(256, dtype=np.float32).reshape(16, 16).T  # 1 KiB, a transposed view
        packed = pack([big, "meta"], arena, alloc)
        assert packed[2][0][0] == "slot" and packed[2][1] == ("obj", "meta")
        out = unpack(packed, arena, copy=True)
        np.testing.assert_array_equal(out[0], big)
        too_big = np.zeros(2048, np.float32)  # 8 KiB does not fit the 3 KiB left
        assert pack(too_big, arena, alloc)[0] == "obj"
    finally:
        arena.close()


def test_a_program_that_raises_is_a_backend_error_and_the_engine_recovers(marker):
    engine = RankEngine(program=ECHO, options={"raise_on": 1},
                        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)])))
    try:
        with pytest.raises(ProgramError, match="rank 1 program raised ValueError: program bug on purpose"):
            engine.run(_echo_invocation(2))
        with pytest.raises(ProgramError):
            engine.run(_echo_invocation(2))
        assert engine.groups_started == 2
    finally:
        engine.close()


def _grandchildren(marker: str, want: int, timeout: float = 5.0) -> list[int]:
    """The ranks' grandchildren, waiting up to `timeout` for `want` of them: a just-forked child carries its
    parent's environment until it execs, so its MC2_GRANDCHILD mark can appear a moment after the rank answered."""
    end = time.monotonic() + timeout
    while True:
        found = []
        for p in _processes_with(marker):
            try:
                if b"MC2_GRANDCHILD=1" in Path(f"/proc/{p}/environ").read_bytes():
                    found.append(p)
            except OSError:
                continue
        if len(found) >= want or time.monotonic() >= end:
            return found
        time.sleep(0.05)


def test_teardown_kills_what_the_ranks_started(marker):
    engine = _engine(options={"spawn_grandchild": True})
    try:
        engine.run(_echo_invocation(2))
        assert len(_grandchildren(marker, 2)) == 2
    finally:
        engine.close()
    assert _wait_gone(marker) == []


def test_workers_die_with_the_engine_process(marker):
    """SIGKILL the process that owns the engine, mid-invocation: its rank workers must not survive it."""
    script = ("import sys; sys.path[:0] = [%r, %r]\n"
              "from conformance.sim.process_backend import SimProcessBackend\n"
              "from conformance import casegen; from conformance.judge import run_case\n"
              "from conformance.context import Context\n"
              "b = SimProcessBackend(faults=['rank-hangs:1'], deadline_s=600)\n"
              "case = [c for c in casegen.select(profile='smoke', world_sizes=(2,)) if c.kind == 'valid'][0]\n"
              "print('running', flush=True); run_case(case, b, Context())\n") % (str(ROOT), str(TESTS))
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert owner.stdout.readline().strip() == "running"
    end = time.monotonic() + 30
    while len(_processes_with(marker)) < 3 and time.monotonic() < end:  # the owner and its two ranks
        time.sleep(0.05)
    workers = [p for p in _processes_with(marker) if p != owner.pid]
    assert len(workers) == 2
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert _wait_gone(marker) == []


def test_the_orphan_check_can_fail(marker):
    """A process that escapes into its own session is found by the check the tests above rely on."""
    escaped = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert _wait_gone(marker, timeout=0.3) == [escaped.pid]
    finally:
        escaped.kill()
        escaped.wait()


@pytest.mark.parametrize("fault,category,words", [
    ("rank-hangs:1", "timeout", ["rank 1 did not answer", "rank 0 waiting in a collective",
                                 "fault rank-hangs", "in _engine_fault"]),
    ("rank-dies:1", "crash", ["rank 1 crashed", "killed by signal SIGKILL", "fault rank-dies"]),
])
def test_a_hung_or_killed_rank_fails_its_test_with_its_category_and_last_output(marker, fault, category, words):
    backend = SimProcessBackend(faults=[fault], deadline_s=2)
    cases = [c for c in casegen.select(profile="smoke", world_sizes=(1, 2)) if c.kind == "valid"]
    w2 = [c for c in cases if c.world_size == 2][:2]
    w1 = [c for c in cases if c.world_size == 1][:1]
    try:
        outcomes = [run_case(c, backend, Context(seed=0)) for c in w2 + w1 + w2[:1]]
    finally:
        backend.close()
    assert [o.category for o in outcomes] == [category, category, "pass", category]
    for word in words:
        assert word in outcomes[0].detail, outcomes[0].detail
    assert backend.engine.groups_started == 4, "each failure tore its group down; the next test got a new one"


def test_the_process_mode_matches_the_in_process_simulator_bit_for_bit(marker):
    cases = casegen.select(profile="signoff", world_sizes=(1, 2, 4, 8))
    picked = {}
    for c in cases:  # one case per (operator, world size, kind, layout of x2): every transport path
        x2 = dict(c.tensors).get("x2")
        picked.setdefault((c.op, c.world_size, c.kind, c.shape_only, getattr(x2, "layout", None)), c)
    proc, inline = SimProcessBackend(deadline_s=60), SimulatorBackend()
    try:
        for case in sorted(picked.values(), key=lambda c: c.world_size):
            inv = materialise(case, 3)
            for a, b in zip(proc.invoke(inv), inline.invoke(inv)):
                assert (a.status, sorted(a.outputs)) == (b.status, sorted(b.outputs)), case.id
                for name in a.outputs:
                    assert a.outputs[name].tobytes() == b.outputs[name].tobytes(), (case.id, name)
    finally:
        proc.close()
    assert len(picked) > 60


def test_engine_arguments_are_checked_in_one_line():
    with pytest.raises(ValueError, match="deadlines must be positive"):
        RankEngine(program=ECHO, deadline_s=0)
    engine = _engine()
    with pytest.raises(ValueError, match="1 devices for 2 ranks"):
        engine.run(_echo_invocation(2, devices=(0,)))


def test_signoff_passes_in_process_mode_and_hangs_do_not_stop_the_run(tmp_path, marker):
    """The done-when of the hardware path, as a user runs it: pytest with --mc2-backend sim-process."""
    log = tmp_path / "results.jsonl"
    run = subprocess.run([sys.executable, "-m", "pytest", "cases/test_marn.py", "cases/test_v3.py", "-q",
                          "-p", "no:cacheprovider", "-n", "2", "--mc2-backend", "sim-process", "-k", "exact or tiny",
                          "--mc2-results", str(log)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    sizes = {e["mc2"]["world_size"] for e in entries if "mc2" in e}
    assert {1, 2, 4, 8} <= sizes
    hung = subprocess.run([sys.executable, "-m", "pytest", "cases/test_marn.py", "-q", "-p", "no:cacheprovider",
                           "--mc2-backend", "sim-process", "--mc2-fault", "rank-hangs:1", "--mc2-rank-deadline", "1",
                           "-k", "tiny and fp16 and eps1e-06 and not inplace and (w1 or w2)"],
                          capture_output=True, text=True, cwd=ROOT)
    tail = hung.stdout.splitlines()[-1]
    assert hung.returncode == 1 and " failed" in tail and " passed" in tail, hung.stdout[-2000:]
    assert "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2: timeout" in hung.stdout
    assert "--mc2-rank-deadline 1" in hung.stdout, "the repro line carries the deadline"


@pytest.mark.parametrize("args,words", [
    (["--mc2-backend", "sim", "--mc2-fault", "rank-hangs:1"], "needs ranks in processes: use --backend sim-process"),
    (["--mc2-backend", "sim-process", "--mc2-fault", "rank-dies:x"], "expected rank-dies:<rank>"),
    (["--mc2-backend", "sim-process", "--mc2-rank-deadline", "soon"], "--mc2-rank-deadline 'soon': expected seconds"),
    (["--mc2-backend", "sim-process", "--mc2-rank-deadline", "-1"], "expected a positive number of seconds"),
])
def test_bad_engine_options_fail_in_one_line(args, words):
    run = subprocess.run([sys.executable, "-m", "pytest", "cases/test_marn.py", "--collect-only", "-q",
                          "-p", "no:cacheprovider", *args], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 4 and words in run.stderr and "Traceback" not in run.stderr, run.stderr
