"""Waivers: the only way to accept a known failure, and every use of one is visible."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.reporting.waivers import Waiver, WaiverBook, WaiverError, load

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, text):
    p = tmp_path / "waivers.toml"
    p.write_text(text)
    return p


def entry(pattern, expires="2099-01-01", extra=""):
    return (f'[[waiver]]\npattern = "{pattern}"\nreason = "r"\n'
            f'issue = "https://example.invalid/1"\nexpires = {expires}\n{extra}\n')


def test_brackets_in_node_ids_are_literal_and_only_star_and_question_mark_are_wildcards():
    w = Waiver("cases/test_v3.py::test_valid[v3-*-w?]", "r", "i", dt.date(2099, 1, 1))
    assert w.matches("cases/test_v3.py::test_valid[v3-odd-fp16-w8]")
    assert not w.matches("cases/test_v3.py::test_valid[v3-odd-fp16-w16]")
    assert not w.matches("cases/test_v3.py::test_validx")


def test_expired_and_other_version_waivers_do_not_apply_and_are_reported():
    today = dt.date(2026, 6, 1)
    book = WaiverBook([Waiver("a::*", "r", "i1", dt.date(2026, 5, 31)),
                       Waiver("b::*", "r", "i2", dt.date(2027, 1, 1), ("8.0.RC2",)),
                       Waiver("c::*", "r", "i3", dt.date(2027, 1, 1)),
                       Waiver("zzz::*", "r", "i4", dt.date(2027, 1, 1))],
                      cann_version="8.0.RC3", today=today)
    book.note_collected(["a::t", "b::t", "c::t"])
    assert book.waiver_for("a::t") is None  # expired yesterday
    assert book.waiver_for("b::t") is None  # for another CANN version
    assert book.waiver_for("c::t").issue == "i3"
    findings = "\n".join(book.findings())
    assert "expired on 2026-05-31" in findings and "for CANN 8.0.RC2, not 8.0.RC3" in findings
    assert "'zzz::*' matches no collected test" in findings


@pytest.mark.parametrize("text,match", [
    ("[[waiver]]\npattern = 'x'\n", "lacks reason, issue, expires"),
    (entry("x", extra='owner = "me"'), "unknown field 'owner'"),
    (entry("x", expires='"soon"'), "is not a date"),
    (entry("x", extra='cann_versions = "8.0"'), "cann_versions must be a list"),
    ("not toml [", "not valid TOML"),
])
def test_malformed_waiver_files_are_one_line_errors(tmp_path, text, match):
    with pytest.raises(WaiverError, match=match) as err:
        load(write(tmp_path, text))
    assert "\n" not in str(err.value)


def test_waived_run_passes_with_waivers_and_an_unwaived_one_fails(tmp_path):
    """bias-once fails the computing MARN cases of the smoke profile and the MARN regression; waive them all."""
    waivers = write(tmp_path, entry("cases/test_golden.py::test_golden[marn*]")
                    + entry("cases/test_marn.py::test_valid[*]") + entry("cases/test_marn.py::test_exact[*]")
                    + entry("cases/test_regressions.py::test_regression[marn*]")
                    # bias on rank 0 only: permuting which rank holds which shard changes the result
                    + entry("cases/test_relations.py::test_rank_order[marn*]"))

    def run(*extra):
        out = tmp_path / f"out{len(extra)}"
        proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--profile", "smoke", "-n", "2",
                               "--fault", "bias-once", "--out", str(out), *extra],
                              capture_output=True, text=True, cwd=ROOT)
        return proc, json.loads((out / "summary.json").read_text())

    proc, summary = run("--waivers", str(waivers))
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert summary["verdict"] == "PASS WITH WAIVERS" and summary["counts"]["waived"] > 0
    proc, summary = run()
    assert proc.returncode == 1 and summary["verdict"] == "FAIL"
    bad = subprocess.run([sys.executable, "-m", "pytest", "cases", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "--mc2-waivers", str(tmp_path / "missing.toml")], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 4 and "no such file" in bad.stderr and "Traceback" not in bad.stderr
