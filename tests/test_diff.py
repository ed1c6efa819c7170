"""Signing off a new CANN version: every run folder is a baseline, `mc2-conformance diff OLD NEW` says what changed,
`run --replay DIR` reruns a folder's cases and `run --baseline DIR` puts the diff on the verdict page.

The runs are real (`mc2-conformance run`, simulator, smoke profile, world size 2, no xdist: ~4 s each), made once
per session and shared by the xdist workers of this test session through a lock file."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance import casegen
from conformance.judge import run_case
from conformance.reporting import diff
from conformance.sim import SimulatorBackend
from conformance.spec.deviations import deviations_of
from conformance.context import Context

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--profile", "smoke", "--world-sizes", "2", "-n", "1"]
RUNS = {  # name -> extra options of `mc2-conformance run`
    "base": ["--keep-outputs"],
    "lsb": ["--fault", "lsb-drift", "--keep-outputs"],
    "seed1": ["--seed", "1"],
    "cann": ["--backend", "sim-cann"],
    "replay": ["--replay", "{base}"],
}


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "conformance.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """name -> run folder, each run made once per session (xdist workers share them)."""
    shared = tmp_path_factory.getbasetemp().parent / "diff-runs"
    shared.mkdir(exist_ok=True)

    def get(name: str) -> Path:
        out = shared / name
        with open(shared / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (out / "done").exists():
                if out.exists():
                    shutil.rmtree(out)
                extra = [x.format(base=get("base")) if "{" in x else x for x in RUNS[name]]
                proc = cli("run", *SMALL, "--out", out, *extra)
                assert proc.returncode in (0, 1) and (out / "results.jsonl").exists(), proc.stdout + proc.stderr
                (out / "log.txt").write_text(proc.stdout + proc.stderr)
                (out / "done").write_text("")
        return out

    return get


def results_of(folder: Path) -> dict:
    return diff.load(folder)[1]


def diff_json(old: Path, new: Path, out: Path, *extra) -> tuple[int, dict]:
    proc = cli("diff", old, new, "--out", out, *extra)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads((out / "diff.json").read_text())


# ---- the statistical test ---------------------------------------------------------------------------------------

def test_mann_whitney_u_known_values():
    r = diff.mann_whitney_u(list(range(1, 11)), list(range(11, 21)))
    # U = 0, mean 50, sd sqrt(10 * 10 * 21 / 12), continuity 0.5: z = -49.5 / 13.2288 = -3.7418
    assert r["u"] == 0 and r["z"] == pytest.approx(-3.7418, abs=1e-4) and r["p"] == pytest.approx(1.826e-4, rel=1e-2)
    same = diff.mann_whitney_u([0.3, 0.1, 0.2], [0.2, 0.3, 0.1])
    assert same["p"] == 1.0 and diff.mann_whitney_u([0.5] * 6, [0.5] * 6)["p"] == 1.0


def exact_p(x, y) -> float:
    """The exact two-sided permutation p-value of U (small samples, by enumeration)."""
    pooled = x + y
    u_obs = diff.mann_whitney_u(x, y)["u"]
    mean = len(x) * len(y) / 2
    us = [diff.mann_whitney_u([pooled[i] for i in idx], [pooled[i] for i in range(len(pooled)) if i not in idx])["u"]
          for idx in map(set, itertools.combinations(range(len(pooled)), len(x)))]
    return sum(abs(u - mean) >= abs(u_obs - mean) - 1e-9 for u in us) / len(us)


@pytest.mark.parametrize("shift", [0.0, 0.3, 0.8])
def test_mann_whitney_normal_approximation_is_close_to_the_exact_test(shift):
    rng = random.Random(7)
    x = [rng.random() for _ in range(7)]
    y = [rng.random() + shift for _ in range(7)]
    assert diff.mann_whitney_u(x, y)["p"] == pytest.approx(exact_p(x, y), abs=0.02)


def synthetic_run(folder: Path, ratios: list[float], seconds: float = 0.2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [{"run": {"backend": "sim", "seed": 0}}]
    for i, r in enumerate(ratios):
        lines.append({"nodeid": f"cases/test_marn.py::test_valid[c{i}]", "when": "call", "outcome": "passed",
                      "mc2": {"case_id": f"c{i}", "category": "pass", "op": "MatmulAllReduceAddRmsNorm",
                              "dtype": "float16", "kind": "valid", "seconds": seconds, "observed": [[0, ""]],
                              "stats": {"rank 0 y: error bound": {"max_ratio": r}}, "seed": 0,
                              "inputs_sha256": f"in{i}", "output_hashes": {"y.0": f"out{i}"}}})
    (folder / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return folder


def test_accuracy_drift_is_reported_only_where_significant(tmp_path):
    rng = random.Random(1)
    old = [0.2 + 0.1 * rng.random() for _ in range(10)]
    noise = synthetic_run(tmp_path / "noise", [r * (1 + 0.05 * rng.uniform(-1, 1)) for r in old])
    drift = synthetic_run(tmp_path / "drift", [r + 0.4 for r in old], seconds=0.5)
    base = synthetic_run(tmp_path / "old", old)
    d = diff.compare(base, noise)
    assert d["counts"]["accuracy"] == 0 and d["accuracy"]["tests"][0]["tested"]
    assert d["accuracy"]["tests"][0]["p"] > 0.01
    d = diff.compare(base, drift)
    (group,) = d["accuracy"]["groups"]
    assert group["significant"] and group["direction"] == "worse" and group["p"] < 1e-3
    assert len(d["accuracy"]["cases"]) == 10  # +0.4 on ~0.25 is beyond 50 %
    assert d["perf"]["groups"][0]["median_ratio"] == pytest.approx(2.5) and diff.gate(d, ("perf",)) == 1
    assert diff.gate(d, ("status",)) == 0 and diff.gate(d, ("accuracy",)) == 1


# ---- real runs --------------------------------------------------------------------------------------------------

def test_diff_of_a_run_against_itself_is_empty(runs, tmp_path):
    status, d = diff_json(runs("base"), runs("base"), tmp_path / "d", "--fail-on", "all")
    assert status == 0 and not any(d["counts"].values()), d["counts"]
    assert "no change" in (tmp_path / "d" / "diff.md").read_text()


def test_diff_against_lsb_drift_shows_exactly_the_affected_cases(runs, tmp_path):
    """The oracle: each test's case judged in-process on the clean and the faulted simulator."""
    status, d = diff_json(runs("base"), runs("lsb"), tmp_path / "d")
    base, lsb = results_of(runs("base")), results_of(runs("lsb"))
    clean, faulted = SimulatorBackend(), SimulatorBackend(faults=["lsb-drift"])
    changed_bits = set()
    for nodeid, t in base.items():
        info = t.get("mc2")
        if not info:
            continue
        case = casegen.by_id(info["case_id"])
        a, b = (run_case(case, be, Context(seed=info["seed"], with_metrics=False)) for be in (clean, faulted))
        assert a.output_hashes == info["output_hashes"]  # the recorded hashes are the outputs' hashes
        if a.output_hashes != b.output_hashes:
            changed_bits.add(nodeid)
    assert changed_bits and {r["test"] for r in d["bits"]} == changed_bits
    assert all(r["note"].startswith("not promised") for r in d["bits"])
    failed = {k for k, t in lsb.items() if t["outcome"] == "failed"}
    assert failed and {r["test"] for r in d["status"]} == failed
    assert status == 1  # default gate: status
    assert d["counts"]["inputs"] == 0 and d["counts"]["cases"] == 0
    assert cli("diff", runs("base"), runs("lsb"), "--fail-on", "perf").returncode == 0
    assert "of 128 elements differ" in json.dumps(d["bits"])  # both runs kept their outputs


def test_diff_against_another_seed_shows_bit_changes_but_no_status_change(runs, tmp_path):
    status, d = diff_json(runs("base"), runs("seed1"), tmp_path / "d")
    assert status == 0 and d["counts"]["status"] == 0 and d["counts"]["inputs"] == 0
    assert d["bits"] and all(r["note"] == "inputs differ: seed 0 -> 1" for r in d["bits"])
    assert not any("test_golden" in r["test"] for r in d["bits"])  # golden tests draw from the golden seed
    assert {e["key"] for e in d["environment"]} == {"seed"}
    assert cli("diff", runs("base"), runs("seed1"), "--fail-on", "bits").returncode == 1


def test_diff_against_sim_cann_shows_status_changes_on_the_deviation_cases(runs, tmp_path):
    status, d = diff_json(runs("base"), runs("cann"), tmp_path / "d")
    changed = {r["test"] for r in d["status"]}
    cann = results_of(runs("cann"))
    deviating = {k for k, t in cann.items() if deviations_of((t.get("mc2") or {}).get("case_id", ""))}
    assert deviating and deviating <= changed
    assert {k for k, t in cann.items() if t["outcome"] == "failed"} <= changed
    assert all("test_invalid" in k for k in changed)  # the source differs in its rejection codes here
    assert status == 1 and any(e["key"] == "backend" for e in d["environment"])


def test_replay_reruns_the_same_ids_and_diffs_against_the_folder(runs):
    base, replay = runs("base"), runs("replay")
    assert set(results_of(replay)) == set(results_of(base))
    ids = (replay / "replay-case-ids.txt").read_text().split()
    assert set(ids) == set(diff.case_ids(base))
    d = json.loads((replay / "diff.json").read_text())
    assert d["counts"]["status"] == d["counts"]["bits"] == d["counts"]["inputs"] == d["counts"]["cases"] == 0
    page = (replay / "summary.html").read_text()
    assert "Changes against the baseline" in page and "href='diff.html'" in page
    assert "Changes against the baseline" in (replay / "summary.md").read_text()
    assert "Changes against the baseline" not in (base / "summary.html").read_text()  # only with a baseline


def test_a_generator_change_is_listed_as_not_comparable(runs, tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    lines = (runs("base") / "results.jsonl").read_text().splitlines()
    victim = next(i for i, ln in enumerate(lines)
                  if "y.0" in (json.loads(ln).get("mc2") or {}).get("output_hashes", {}))
    entry = json.loads(lines[victim])
    entry["mc2"]["inputs_sha256"] = "0" * 64
    entry["mc2"]["output_hashes"]["y.0"] = "f" * 64
    entry["mc2"]["generator"] = "next-generator"
    lines[victim] = json.dumps(entry)
    (new / "results.jsonl").write_text("\n".join(lines) + "\n")
    status, d = diff_json(runs("base"), new, tmp_path / "d")
    assert [r["test"] for r in d["inputs"]] == [entry["nodeid"]] and d["counts"]["bits"] == 0
    assert d["inputs"][0]["note"] == "inputs changed: not comparable" and status == 0
    assert "Inputs changed: not comparable (1)" in (tmp_path / "d" / "diff.md").read_text()
    assert cli("diff", runs("base"), new, "--fail-on", "inputs").returncode == 1


def test_kept_outputs_are_the_hashed_outputs(runs):
    base = runs("base")
    kept = 0
    for t in results_of(base).values():
        info = t.get("mc2") or {}
        if not info.get("outputs_file"):
            continue
        path = base / "outputs" / info["outputs_file"]
        assert path.stat().st_size < 64 * 1024 + 4096
        with np.load(path) as z:
            assert sorted(z.files) == sorted(info["output_hashes"])
            if info["dtype"] == "float16":
                import hashlib
                assert all(hashlib.sha256(np.ascontiguousarray(z[k]).tobytes()).hexdigest() == h
                           for k, h in info["output_hashes"].items())
        kept += 1
    assert kept >= 10
    assert not (runs("seed1") / "outputs").exists()  # not kept by default


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_diff_page_renders_in_a_headless_browser(runs, tmp_path):
    """The diff page of the lsb-drift run; MC2_WRITE_DOCS=1 also saves the screenshot as docs/diff.png."""
    cli("diff", runs("base"), runs("lsb"), "--out", tmp_path / "d")
    page = (tmp_path / "d" / "diff.html").as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    assert "MC2 conformance diff" in dom and 'id="status"' in dom and 'id="bits"' in dom
    shot = tmp_path / "diff.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1400,1400", page],
                   capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000
    if os.environ.get("MC2_WRITE_DOCS"):
        shutil.copy(shot, ROOT / "docs" / "diff.png")
