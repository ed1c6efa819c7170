"""Performance mode (conformance/perf.py, `mc2-conformance perf`): statistics, the nccl-tests bandwidth, the
correctness gate, the threshold against the chain, device timing through backend.timed, and the files."""

import json
import sys

import pytest

from conformance import operators, perf
from conformance.protocol import Timing
from conformance.sim import SimulatorBackend

ONE = (perf.QUICK_SHAPES[0],)


def test_median_ci_brackets_the_median_and_narrows_with_more_samples():
    med, lo, hi = perf.median_ci(list(range(1, 102)))
    assert med == 51 and lo < 51 < hi
    _, lo2, hi2 = perf.median_ci(list(range(1, 1002)))
    assert (hi2 - lo2) / 501 < (hi - lo) / 51


def test_summary_statistics():
    s = perf.summarise([1.0] * 9 + [2.0], "device events")
    assert s["p50_s"] == 1.0 and s["iterations"] == 10 and s["cv"] > 0 and s["p99_s"] > 1.0
    assert perf.summarise([1.0] * 10, "x")["ci95_half_width_rel"] == 0.0


def test_bus_bandwidth_follows_nccl_tests():
    bw = perf.bandwidth(4096, 8192, "float16", 8, 1e-3)
    assert bw["bytes"] == 4096 * 8192 * 2
    assert bw["algbw_GBps"] == pytest.approx(4096 * 8192 * 2 / 1e-3 / 1e9)
    assert bw["busbw_GBps"] == pytest.approx(bw["algbw_GBps"] * 2 * 7 / 8)
    assert perf.bandwidth(16, 16, "bfloat16", 1, 1e-3)["busbw_GBps"] == 0.0


def test_mindspeed_shape_splits_k_over_the_ranks():
    case = perf.perf_case(perf.SHAPES[0], 8)
    t = dict(case.tensors)
    assert t["x1"].shape == (4, 1024, 128) and t["x2"].shape == (128, 8192) and t["residual"].shape == (4, 1024, 8192)
    with pytest.raises(ValueError):
        perf.perf_case(perf.Shape("odd", 1, 2, 3, 4), 2)


def test_an_operator_perf_mode_cannot_time_is_refused_in_one_line():
    with pytest.raises(perf.PerfUnsupported) as exc:
        perf.run(SimulatorBackend(), perf.quick_settings(shapes=ONE, world_sizes=(2,)), progress=lambda *_: None,
                 operator=operators.V3)
    msg = str(exc.value)
    assert msg.startswith(f"perf mode does not implement {operators.V3.name}") and "\n" not in msg
    with pytest.raises(perf.PerfUnsupported):
        perf.perf_case(perf.SHAPES[0], 8, operator=operators.V3)


class DeviceTimed:
    """The simulator with a device-event `timed` of fixed latencies (fused, chain), recording its calls."""

    name = "timed-sim"

    def __init__(self, fused=1e-3, chain=1e-3, faults=()):
        self.sim = SimulatorBackend(faults=faults)
        self.latency = {False: fused, True: chain}
        self.calls = []

    def describe(self):
        return {"backend": "timed-sim"}

    def unsupported_reason(self, inv):
        return self.sim.unsupported_reason(inv)

    def invoke(self, inv):
        return self.sim.invoke(inv)

    def invoke_chain(self, inv):
        return self.sim.invoke_chain(inv)

    def timed(self, inv, *, chain, warmup, iterations):
        self.calls.append((chain, warmup, iterations))
        return Timing([self.latency[chain]] * iterations, "device events")


def settings(**kw):
    return perf.quick_settings(world_sizes=(2,), shapes=ONE, **kw)


@pytest.mark.parametrize("chain_s,verdict", [(1.2e-3, "pass"), (0.96e-3, "pass"), (0.9e-3, "fail")])
def test_the_threshold_against_the_chain(chain_s, verdict):
    backend = DeviceTimed(fused=1e-3, chain=chain_s)
    result = perf.run(backend, settings(), progress=lambda *_: None)
    row = result["rows"][0]
    assert row["correctness"] == "pass" and row["fused"]["clock"] == "device events"
    assert row["speedup"] == pytest.approx(chain_s / 1e-3)
    assert row["verdict"] == verdict and result["passed"] == (verdict == "pass")


def test_timed_is_used_with_warmup_once_and_stops_at_the_confidence_target():
    backend = DeviceTimed()
    perf.run(backend, settings(min_iterations=4, max_iterations=64, warmup=3), progress=lambda *_: None)
    # constant latencies converge in the first batch: one call per measurement, warm-up given once
    assert backend.calls == [(False, 3, 4), (True, 3, 4)]


class Noisy(DeviceTimed):
    def timed(self, inv, *, chain, warmup, iterations):
        self.calls.append((chain, warmup, iterations))
        return Timing([1e-3 * (1 + (i % 2)) for i in range(iterations)], "device events")


def test_an_unconverged_measurement_doubles_its_sample_up_to_the_maximum():
    backend = Noisy()
    result = perf.run(backend, settings(min_iterations=4, max_iterations=20, warmup=2, target=0.01),
                      progress=lambda *_: None)
    fused = [c for c in backend.calls if not c[0]]
    assert fused == [(False, 2, 4), (False, 0, 4), (False, 0, 8), (False, 0, 4)]
    assert result["rows"][0]["fused"]["iterations"] == 20 and not result["rows"][0]["fused"]["converged"]


def test_a_case_that_fails_its_correctness_check_is_not_timed():
    backend = DeviceTimed(faults=["no-gamma"])
    result = perf.run(backend, settings(), progress=lambda *_: None)
    row = result["rows"][0]
    assert row["verdict"] == "gated" and row["fused"] is None and backend.calls == []
    assert not result["passed"]


def test_the_simulator_is_timed_by_wall_clock_and_is_informative(tmp_path):
    result = perf.run(SimulatorBackend(), settings(max_iterations=3, min_iterations=2), progress=lambda *_: None)
    row = result["rows"][0]
    assert row["fused"]["clock"] == perf.WALL_CLOCK == row["chain"]["clock"]
    assert row["verdict"] == "informative" and result["passed"]
    assert row["bandwidth"]["busbw_GBps"] > 0
    perf.write(result, tmp_path)
    data = json.loads((tmp_path / "perf.json").read_text())
    assert data["rows"][0]["case_id"] == "perf-q-small-fp16-w2"
    md = (tmp_path / "perf.md").read_text()
    assert "perf-q-small-fp16-w2" in md and "wall clock (simulator)" in md and "busbw" in md
    pytest.importorskip("matplotlib")
    assert (tmp_path / "perf.png").read_bytes()[:4] == b"\x89PNG"


def test_without_a_chain_there_is_no_comparison():
    class NoChain(DeviceTimed):
        invoke_chain = None
    result = perf.run(NoChain(), settings(), progress=lambda *_: None)
    assert result["rows"][0]["verdict"] == "no chain" and result["rows"][0]["chain"] is None


def test_the_plot_is_skipped_with_a_line_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = perf.run(DeviceTimed(), settings(), progress=lambda *_: None)
    perf.write(result, tmp_path)
    assert not (tmp_path / "perf.png").exists()
    assert "matplotlib is not installed" in (tmp_path / "perf.md").read_text()


def test_the_cli_command(tmp_path, capsys):
    from conformance.cli import main
    rc = main(["perf", "--quick", "--world-sizes", "2", "--shapes", "q-small", "--max-iterations", "3",
               "--out", str(tmp_path)])
    assert rc == 0, capsys.readouterr()
    assert (tmp_path / "perf.json").exists() and (tmp_path / "perf.md").exists()
    assert "perf: PASS" in capsys.readouterr().out
    assert main(["perf", "--shapes", "nope", "--out", str(tmp_path)]) == 2
