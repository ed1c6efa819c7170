"""Hardware-only cases: the cost estimate (casegen/estimate.py) against hand arithmetic and the bench's
measurements, backends with a host-memory limit declining a case before its inputs exist (judge.run_case), the
category counted apart without withholding the verdict (reporting.summary), and hardware backends unlimited.
Also the LLM layer table (casegen/llm_layers.py) against its cited configurations."""

import json
import time
from pathlib import Path

import pytest

from conformance import casegen, judge
from conformance.casegen import estimate, llm_layers
from conformance.context import Context
from conformance.protocol import HOST_MEMORY_LIMIT_BYTES
from conformance.reporting import summarise
from conformance.reporting.page import build_page, render_markdown
from conformance.results import Category, Summary
from conformance.sim import SimulatorBackend
from conformance.sim.cann.backend import SimCannBackend
from conformance.sim.process_backend import SimProcessBackend
from conformance.spec import CONSTRAINTS
from fake_backend import ThirdPartyBackend
from test_report import RUN, entry

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20

# 405B's MLP down-projection at TP 8, batch 16 of 8K tokens: m = 131072, k = 53248 / 8 = 6656, n = 16384
HUGE = "marn-llm-mlp_down-k6656n16384-prefill-b16s8192-fp16-w8"
TP_LAYER_W8 = "marn-tp_layer-b4s1024k128n8192-fp16-w8"


# ---- the estimate: worked examples ---------------------------------------------------------------------------

def test_the_memory_estimate_of_the_8_rank_layer_by_hand():
    e = estimate.of_case(casegen.by_id(TP_LAYER_W8))
    # one rank: x1 4*1024*128*2 = 1,048,576; x2 128*8192*2 = 2,097,152; bias, gamma 8192*2 = 16,384 each;
    # residual, y, normOut 4*1024*8192*2 = 67,108,864 each -> 204,505,088 B
    assert (e.m, e.k, e.n) == (4096, 128, 8192)
    assert e.rank_bytes == 1_048_576 + 2_097_152 + 2 * 16_384 + 3 * 67_108_864 == 204_505_088
    # 52 MiB base + 8 x 204,505,088 + 3.6 B x 4096*8192 + 4.3 B x 8 x (4096*128 + 128*8192)
    # = 54,525,952 + 1,636,040,704 + 120,795,955.2 + 54,106,521.6 = 1,865,469,132.8
    assert e.sim_host_bytes == 1_865_469_132
    # all-reduce: the (4096, 8192) fp16 partial = 64 MiB, under HCCL's 200 MiB; nothing over INT32_MAX
    assert e.allreduce_bytes == 64 * MIB and not e.crosses_hccl_buffer and e.int32_overflows == ()
    # device: 2*4096*128*8192 = 8,589,934,592 flops / 280e12 = 30.68 us; ring all-reduce 2*7/8 * 64 MiB / 50e9
    # = 2.3488 ms -> 2.3795 ms
    assert e.device_seconds == pytest.approx(8_589_934_592 / 280e12 + 1.75 * 67_108_864 / 50e9)
    assert e.device_seconds == pytest.approx(2.3795e-3, rel=1e-4)


def test_the_memory_estimate_follows_the_bench_measurements():
    """Every case bench/bench_memory.py measured (fresh process, ru_maxrss) is estimated within the model's stated
    error: float inputs within 6%, int8 inputs never under by more than 6% (over-estimates are the safe side)."""
    doc = json.loads((ROOT / "bench" / "memory_results.json").read_text())
    measured = dict(doc["llm"]["sim"])
    import_mib = {cid: r["import_rss_mib"] for cid, r in measured.items()}
    assert len(measured) >= 10
    for cid, row in measured.items():
        e = estimate.of_case(casegen.by_id(cid))
        ratio = e.sim_host_bytes / MIB / row["peak_rss_mib"]
        assert abs(import_mib[cid] - estimate.SIM_BASE_BYTES / MIB) < 1.0, cid
        if e.input_dtype == "int8":
            assert 0.94 < ratio < 1.8, (cid, ratio)
        else:
            assert 0.94 < ratio < 1.06, (cid, ratio)


def test_the_huge_prefill_crosses_int32_and_the_hccl_buffer():
    e = estimate.of_case(casegen.by_id(HUGE))
    # m*n = 131072 * 16384 = 2^31 > INT32_MAX; its fp16 bytes 2^32; the partial 4 GiB > 200 MiB
    assert (e.m, e.k, e.n) == (131072, 6656, 16384)
    assert e.int32_overflows == ("m*n", "m*n bytes")
    assert e.allreduce_bytes == 2**32 and e.crosses_hccl_buffer
    # one rank: x1 131072*6656*2 = 1,744,830,464 + x2 6656*16384*2 = 218,103,808 + residual, y, normOut
    # 3 * 4,294,967,296 (no bias: LLM projections have none) + gamma 32,768 = 14,847,868,928 B; x 8 ranks alone
    # is 110.6 GiB
    assert e.rank_bytes == 14_847_868_928
    # + 52 MiB + 3.6 B x 2^31 + 4.3 B x 8 x (131072*6656 + 6656*16384) = 118,782,951,424 + 54,525,952
    # + 7,730,941,132.8 + 33,762,469,478.4 = 160,330,887,987.2 B = 149.32 GiB
    assert e.sim_host_bytes == 160_330_887_987
    # device: 2*131072*6656*16384 = 28,587,302,322,176 flops / 280e12 = 102.1 ms + ring 1.75 * 2^32 B / 50e9 = 150.3
    # ms -> 252 ms. host: 8 ranks' flops / 28e9 = 8,167.8 s + 8 * 2^31 outputs / 18.4e6 = 933.7 s + 8 * (x1
    # 872,415,232 + x2 109,051,904 + residual 2^31 + gamma 16,384) inputs / 80e6 = 312.9 s -> 9,414.4 s = 2.6 h
    assert e.device_seconds == pytest.approx(0.2524, abs=1e-4) and e.host_seconds == pytest.approx(9414.4, abs=0.1)
    assert e.exceeds(HOST_MEMORY_LIMIT_BYTES) == ("not run here: needs 149.3 GiB (limit 2.0 GiB); on hardware ~252 ms "
                                                  "on the device, host check under ~2.6 h")


def test_shape_only_cases_cost_nothing_and_always_run():
    case = next(c for c in casegen.catalogue() if c.shape_only and c.id.startswith("marn-MARN-BOUND-002-m_at_max"))
    e = estimate.of_case(case)
    assert e.shape_only and e.sim_host_bytes == estimate.SIM_BASE_BYTES and e.exceeds(1) is None
    assert judge.capacity_reason(case, SimulatorBackend(memory_limit_bytes=1)) is None


def test_every_case_outside_the_llm_layers_fits_the_default_limit():
    """The limit declines only the new big cases: no existing case turns hardware-only."""
    over = [c.id for c in casegen.catalogue() if "-llm-" not in c.id
            and estimate.of_case(c).exceeds(HOST_MEMORY_LIMIT_BYTES)]
    assert over == []


# ---- the simulators decline before materialising ---------------------------------------------------------------

def test_the_simulator_declines_a_case_it_cannot_hold_before_drawing_inputs(monkeypatch):
    def no_inputs(*a, **k):
        raise AssertionError("materialise must not be called for a case the backend cannot hold")

    monkeypatch.setattr(judge, "materialise", no_inputs)
    t0 = time.perf_counter()
    out = judge.run_case(casegen.by_id(HUGE), SimulatorBackend(), Context(seed=0))
    assert time.perf_counter() - t0 < 2.0  # 110 GiB of inputs would take minutes, if they fit at all
    assert out.category == Category.HARDWARE_ONLY == "hardware_only"
    assert out.detail.startswith("not run here: needs 149.3 GiB (limit 2.0 GiB); on hardware ~252 ms")
    assert not out.passed and out.output_hashes == {}


def test_the_limit_is_the_backends_own():
    case = casegen.by_id(TP_LAYER_W8)  # 1.74 GiB by the model
    assert judge.capacity_reason(case, SimulatorBackend()) is None
    assert judge.capacity_reason(case, SimulatorBackend(memory_limit_bytes=1 * 2**30)).startswith(
        "not run here: needs 1.7 GiB (limit 1.0 GiB); on hardware ~2.4 ms on the device")


@pytest.mark.parametrize("make", [SimCannBackend, lambda: SimProcessBackend(persistent=False)],
                         ids=["sim-cann", "sim-process"])
def test_every_simulator_declares_the_limit(make):
    backend = make()
    try:
        assert judge.capacity_reason(casegen.by_id(HUGE), backend).startswith("not run here: needs 149.3 GiB")
        assert judge.capacity_reason(casegen.by_id(TP_LAYER_W8), backend) is None
    finally:
        getattr(backend, "close", lambda: None)()


def test_torch_cpu_declares_the_limit():
    pytest.importorskip("torch")
    from conformance.backends.torch_cpu import TorchCpuBackend
    assert judge.capacity_reason(casegen.by_id(HUGE), TorchCpuBackend()).startswith("not run here")


def test_hardware_backends_are_not_limited():
    from conformance.backends.aclnn.backend import AclnnBackend
    from conformance.backends.torch_npu_backend import TorchNpuBackend
    assert not hasattr(AclnnBackend, "capacity_reason") and not hasattr(TorchNpuBackend, "capacity_reason")
    assert judge.capacity_reason(casegen.by_id(HUGE), ThirdPartyBackend()) is None


# ---- the verdict counts them apart -----------------------------------------------------------------------------

def _hardware_only(covers):
    t = entry("skipped", covers, message="Skipped: not run here: needs 149.3 GiB (limit 2.0 GiB)")
    t["mc2"]["category"] = "hardware_only"
    return t


def test_hardware_only_cases_are_counted_apart_and_keep_the_verdict():
    a, b, c = CONSTRAINTS[0].id, CONSTRAINTS[1].id, CONSTRAINTS[2].id
    tests = [entry("passed", [a]), entry("passed", [b]), _hardware_only([b, c]), _hardware_only([c])]
    s = summarise(RUN, tests)
    assert s.verdict == "PASS", s.verdict_reasons  # c is covered only by hardware-only cases: no evidence against
    assert s.counts == {"passed": 2, "not run here": 2}
    assert s.skips == [] and s.evidence["tests"] == 2
    assert [t.skip_reason() for t in s.not_run_here] == ["not run here: needs 149.3 GiB (limit 2.0 GiB)"] * 2
    md = render_markdown(build_page(s))
    assert "2 passed, 0 failed, 0 waived, 0 skipped, 2 not run here (hardware only)" in md
    assert "Not run here: hardware only (2)" in md and "needs 149.3 GiB (limit 2.0 GiB)" in md
    # summary.json keeps them, per case and as a count
    back = Summary.from_json(json.loads(json.dumps(s.to_json(), default=str)))
    assert back.counts["not run here"] == 2
    assert [t.skip_reason() for t in back.not_run_here] == [t.skip_reason() for t in s.not_run_here]
    # the same tests as ordinary skips would withhold the verdict: the category is what keeps it
    plain = [entry("passed", [a]), entry("passed", [b]), entry("skipped", [b, c], message="Skipped: x"),
             entry("skipped", [c], message="Skipped: x")]
    assert summarise(RUN, plain).verdict == "NO VERDICT"


def test_a_failure_still_fails_next_to_hardware_only_cases():
    a = CONSTRAINTS[0].id
    assert summarise(RUN, [entry("failed", [a]), _hardware_only([a])]).verdict == "FAIL"


# ---- the LLM layer table -----------------------------------------------------------------------------------------

def test_the_llm_layers_follow_their_cited_configurations():
    by_name = {m.name: m for m in llm_layers.MODELS}
    assert all(m.source.startswith(("https://huggingface.co/", "https://arxiv.org/")) for m in llm_layers.MODELS)
    # config.json values: Llama-2-7B hidden 4096 / intermediate 11008; Llama-3.1-405B 16384 / 53248;
    # Qwen2-72B 8192 / 29568; GPT-3 d_model 12288, d_ff = 4 * 12288 = 49152
    assert (by_name["Llama-2-7B"].hidden, by_name["Llama-2-7B"].intermediate) == (4096, 11008)
    assert (by_name["Llama-3.1-405B"].hidden, by_name["Llama-3.1-405B"].intermediate) == (16384, 53248)
    assert (by_name["Qwen2-72B"].hidden, by_name["Qwen2-72B"].intermediate) == (8192, 29568)
    assert by_name["GPT-3-175B"].intermediate == 49152
    layers = {(ly.role, ly.k_total, ly.n): ly.models for ly in llm_layers.layers()}
    # shared layers are listed once with every model that has them
    assert layers[("attn_out", 4096, 4096)] == ("Llama-2-7B", "Llama-3-8B", "Mixtral-8x7B")
    assert layers[("mlp_down", 28672, 8192)] == ("Llama-2-70B", "Llama-3-70B")
    assert ("mlp_down", 0, 4096) not in layers  # Mixtral's MLPs are experts: no dense down-projection
    # DeepSeek-V3's MLA out-projection reads 128 heads x 128 = 16384 features into hidden 7168
    assert ("attn_out", 16384, 7168) in layers
    assert len(layers) == 14


def test_layer_shapes_split_k_over_tp_and_span_decode_to_long_prefill():
    shapes = llm_layers.layer_shapes()
    assert {s.tp for s in shapes} == {2, 4, 8}
    assert {s.rows.m for s in shapes if s.rows.phase == "decode"} == {1, 256}
    assert max(s.rows.m for s in shapes) == 131072 and {s.tp for s in shapes if s.rows.m == 131072} == {8}
    s = next(x for x in shapes if x.layer.k_total == 53248 and x.tp == 8 and x.rows.m == 1)
    assert (s.shape.k, s.shape.n, s.shape.m) == (6656, 16384, 1)  # 53248 / 8
    assert s.name == "llm-mlp_down-k6656n16384-decode-b1s1"


def test_llm_cases_are_full_but_for_the_measured_signoff_calls():
    llm = [c for c in casegen.catalogue() if "-llm-" in c.id]
    signoff = sorted(c.id for c in llm if c.profile != "full")
    assert signoff == ["marn-llm-attn_out-k2048n4096-decode-b1s1-fp16-w2",
                       "v3-llm-attn_out-k2048n4096-decode-b1s1-bf16_pt-bf16-w2"]
    assert all(c.kind == "valid" and not c.shape_only for c in llm)
    # every world-8 prefill of 32K tokens or more is hardware-only on the simulator
    big = [c for c in llm if c.world_size == 8 and estimate.dims(c)[0] >= 32768]
    assert big and all(estimate.of_case(c).exceeds(HOST_MEMORY_LIMIT_BYTES) for c in big)
