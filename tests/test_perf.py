"""Performance mode (conformance/perf.py, `mc2-conformance perf`): statistics, the nccl-tests bandwidth, the
correctness gate, the threshold against the chain, device timing through backend.timed, the vendor's repeat
counts, the operators it times (from their records: MARN and V3), the path shapes, and the files."""

import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest

from conformance import casegen, operators, perf
from conformance.protocol import Timing
from conformance.sim import SimulatorBackend

ONE = (perf.QUICK_SHAPES[0],)
MARN, V3 = operators.MARN, operators.V3


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
    case = perf.perf_case(perf.SHAPES[0], 8, "float16", MARN)
    t = dict(case.tensors)
    assert t["x1"].shape == (4, 1024, 128) and t["x2"].shape == (128, 8192) and t["residual"].shape == (4, 1024, 8192)
    assert perf.case_mkn(MARN, case) == (4 * 1024, 1024, 8192)  # m = b*s; k = 128 per rank x 8 ranks
    with pytest.raises(ValueError):
        perf.perf_case(perf.Shape("odd", 1, 2, 3, 4), 2, "float16", MARN)


def test_v3_layer_case_splits_k_and_uses_the_named_rows():
    tiny = perf.Shape("tiny", 1, 128, 512, 1024)
    fp16 = dict(perf.perf_case(tiny, 2, "float16", V3).tensors)
    # 512 / 2 = 256 int8 columns of x1 per rank; fp16 output with the INT64 dequant words (row fp16_i64), no x3
    assert fp16["x1"].dtype == "int8" and fp16["x1"].shape == (1, 128, 256) and fp16["x2"].shape == (256, 1024)
    assert fp16["dequantScale"].dtype == "int64" and fp16["output"].shape == (1, 128, 1024)
    assert fp16["x3"] is None and fp16["pertokenScale"] is None and fp16["commQuantScale1"] is None
    bf16 = dict(perf.perf_case(tiny, 4, "bfloat16", V3).tensors)
    assert bf16["x1"].shape == (1, 128, 128) and bf16["dequantScale"].dtype == "bfloat16"
    assert bf16["x3"].shape == (1, 128, 1024)  # both readings of V3-AMB-001 allow x3 with a bf16 output
    assert perf.case_mkn(V3, perf.perf_case(tiny, 4, "bfloat16", V3)) == (128, 512, 1024)
    with pytest.raises(ValueError, match="computes float16, bfloat16, not float32"):
        perf.perf_case(tiny, 2, "float32", V3)


def test_an_operator_perf_mode_cannot_time_is_refused_in_one_line():
    inplace = operators.INPLACE  # its record names no perf_case
    with pytest.raises(perf.PerfUnsupported) as exc:
        perf.run(SimulatorBackend(), perf.quick_settings(shapes=ONE, world_sizes=(2,)), progress=lambda *_: None,
                 operator=inplace)
    msg = str(exc.value)
    assert msg.startswith(f"perf mode does not implement {inplace.name}") and "\n" not in msg
    assert msg.endswith(f"it times {MARN.name}, {V3.name}")
    with pytest.raises(perf.PerfUnsupported):
        perf.perf_case(perf.SHAPES[0], 8, "float16", inplace)
    with pytest.raises(operators.UnknownOperator):
        perf.selected_operators(("Nope",))


def test_perf_mode_names_no_operator_and_times_every_record_with_a_perf_case():
    source = (Path(perf.__file__)).read_text()
    assert not re.search(r"operators\.(MARN|V3|INPLACE)\b", source)
    assert [op.name for op in perf.selected_operators()] == [MARN.name, V3.name]


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
    return perf.quick_settings(**{"world_sizes": (2,), "shapes": ONE, "operators": (MARN.name,), **kw})


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
    assert data["rows"][0]["case_id"] == "perf-marn-q-small-fp16-w2"
    md = (tmp_path / "perf.md").read_text()
    assert "perf-marn-q-small-fp16-w2" in md and "wall clock (simulator)" in md and "busbw" in md
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


# --- the vendor's repeat counts ----------------------------------------------------------------------------------

def test_the_vendors_repeat_counts_are_the_default_first_batch():
    # mirror-cann/ops-transformer@3a280bcc mc2/tools/bandwidth_test/bandwidth_test.py:51-53: loop 100, repeat 1,
    # warmup 5; :214 active = loop // repeat - warmup = 100 // 1 - 5 = 95 measured
    backend = DeviceTimed()
    defaults = perf.PerfSettings(world_sizes=(2,), shapes=ONE, operators=(MARN.name,))
    perf.run(backend, defaults, progress=lambda *_: None)
    assert backend.calls == [(False, 5, 95), (True, 5, 95)]  # constant latencies: converged in the first batch


def test_vendor_repeats_take_exactly_those_even_unconverged():
    backend = Noisy()
    result = perf.run(backend, settings(**perf.vendor_repeats(), target=0.001), progress=lambda *_: None)
    assert backend.calls == [(False, 5, 95), (True, 5, 95)]
    assert result["rows"][0]["fused"]["iterations"] == 95 and not result["rows"][0]["fused"]["converged"]


# --- V3 and several operators -------------------------------------------------------------------------------------

def test_v3_is_judged_then_timed_against_its_chain():
    backend = DeviceTimed(fused=1e-3, chain=2e-3)
    result = perf.run(backend, settings(operators=(V3.name,)), progress=lambda *_: None)
    (row,) = result["rows"]
    assert row["op"] == V3.name and row["case_id"] == "perf-v3-q-small-fp16-w2" and row["correctness"] == "pass"
    assert row["speedup"] == pytest.approx(2.0) and row["verdict"] == "pass"
    # q-small: b, s, k, n = 1, 16, 64, 128: m = 16 rows of fp16 output, 16 * 128 * 2 = 4096 bytes all-reduced
    assert (row["m"], row["k"], row["n"]) == (16, 64, 128) and row["bandwidth"]["bytes"] == 4096


def test_every_operator_with_a_perf_case_is_timed_by_default():
    result = perf.run(DeviceTimed(), settings(operators=()), progress=lambda *_: None)
    assert [r["op"] for r in result["rows"]] == [MARN.name, V3.name]
    assert result["settings"]["operators"] == [MARN.name, V3.name]


# --- path shapes ------------------------------------------------------------------------------------------------

def _tagged(case_id, side, **changes):
    case = casegen.by_id(case_id)
    params = case.params + (((perf.PATH_SIDE, side),) if side is not None else ())
    return dataclasses.replace(case, params=params, **changes)


MARN_W2 = "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2"  # x1 (1, 4, 16), residual (1, 4, 32): m 4, k 16 x 2, n 32
MARN_W2_2D = "marn-tiny-x1_2d-x2N-bias-eps0.01-fp16-w2"


def test_one_computing_case_per_path_side_first_in_catalogue_order():
    cases = [_tagged(MARN_W2, "turns:one"), _tagged(MARN_W2_2D, "turns:one"),  # same side: the first wins
             _tagged(MARN_W2_2D, ("turns:many", "rms:split_d")),  # one case, two sides
             _tagged(MARN_W2, "turns:rejected", rejects=True), _tagged(MARN_W2, "turns:shape", shape_only=True),
             _tagged(MARN_W2, "turns:w4", world_size=4),  # not a selected world size
             _tagged(MARN_W2, None, kind=perf.PATH_KIND, id="marn-path-untagged"),  # kind alone: its id is the side
             _tagged("v3-tiny-fp16_pt-x1_3d-x2nd-bias-deqn-nox3-fp-fp16-w2", "v3:side")]  # another operator
    got = [(side, case.id) for side, case in perf.path_cases(MARN, (2,), cases)]
    assert got == [("turns:one", MARN_W2), ("turns:many", MARN_W2_2D), ("rms:split_d", MARN_W2_2D),
                   ("marn-path-untagged", "marn-path-untagged")]


def test_path_shapes_time_the_tagged_cases_and_fall_back_to_layers_where_none_are(monkeypatch):
    tagged = (_tagged(MARN_W2, "turns:one"),)
    monkeypatch.setattr(casegen, "catalogue", lambda: tagged)
    said = []
    result = perf.run(DeviceTimed(), settings(operators=(), shape_source=perf.PATHS), progress=said.append)
    marn, v3 = result["rows"]
    assert (marn["case_id"], marn["shape"], marn["path_side"]) == (MARN_W2, "turns:one", "turns:one")
    assert (marn["m"], marn["k"], marn["n"]) == (4, 32, 32) and marn["correctness"] == "pass"
    assert v3["case_id"] == "perf-v3-q-small-fp16-w2" and v3["path_side"] == ""  # V3: nothing tagged yet
    (note,) = [line for line in said if "no catalogue case is tagged" in line]
    assert note.startswith(f"perf: {V3.name}: ") and "timing its layer shapes instead" in note


def test_the_cli_path_shapes_operators_and_repeats(tmp_path, capsys):
    from conformance.cli import main
    # world size 8: no path-designed V3 case has it (they are seconds each), so the quick layer shapes stand in
    rc = main(["perf", "--quick", "--world-sizes", "8", "--shapes", "paths", "--op", V3.name, "--max-iterations",
               "2", "--out", str(tmp_path)])
    assert rc == 0, capsys.readouterr()
    data = json.loads((tmp_path / "perf.json").read_text())
    assert data["settings"]["shape_source"] == "paths" and {r["op"] for r in data["rows"]} == {V3.name}
    assert main(["perf", "--op", operators.INPLACE.name, "--out", str(tmp_path)]) == 2
    assert "--op: perf mode does not implement" in capsys.readouterr().err
    assert main(["perf", "--op", "Nope", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit) as exc:  # argparse's choices: one usage line, status 2
        main(["perf", "--repeats", "sometimes", "--out", str(tmp_path)])
    assert exc.value.code == 2
