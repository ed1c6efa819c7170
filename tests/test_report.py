"""The verdict a release engineer signs: the evidence rule (NO VERDICT), what the page says was signed off, the
matrix legend and its blank cells, section order, the Allure link, accuracy labels, per-node environment, and the
reporting package with its old module paths."""

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.reporting import summarise, write_summary
from conformance.pytest_plugin import catalogue_facts
from conformance.reporting.page import build_page, render_html, render_markdown
from conformance.spec import CONSTRAINTS

ROOT = Path(__file__).resolve().parent.parent


class NothingSupportedBackend:
    """A backend that declares every case unsupported: a run on it tests nothing."""

    name = "nothing"

    def describe(self):
        return {"backend": "nothing (declares every case unsupported)"}

    def unsupported_reason(self, inv):
        return "this backend supports no case"

    def invoke(self, inv):  # pragma: no cover - never called
        raise AssertionError("unsupported cases must not be invoked")


RUN = {"backend": "aclnn", "profile": "signoff", "world_sizes": [2, 8], "seed": 7, "faults": [],
       "accumulation": "probabilistic", "status_check": "convention", "doc_revision": "repo-c29bc10",
       "cann_version": "8.0.RC3", "environment": {"backend": "aclnn (libopapi.so of CANN 8.0.RC3)"},
       "node": {"hostname": "npu-node-7", "python": "3.99.1", "platform": "Linux-test-aarch64",
                "suite_version": "9.9.9", "git_revision": "abc1234"},
       "catalogue": catalogue_facts().to_dict()}  # what the plugin records of the catalogue the run used


_entry_ids = itertools.count(1)  # every entry gets a distinct test and case id


def entry(outcome, covers, *, op="MatmulAllReduceAddRmsNorm", ws=2, dtype="float16", message="", stats=None):
    n = next(_entry_ids)
    t = {"nodeid": f"cases/test_x.py::test_{n}", "outcome": outcome,
         "mc2": {"case_id": f"case-{n}", "op": op, "dtype": dtype, "world_size": ws, "kind": "valid",
                 "covers": list(covers), "stats": stats or {}}}
    if message:
        t["message"] = message
    return t


def write_log(path: Path, run: dict, tests: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(x) for x in [{"run": run}, *tests]) + "\n")
    return path


def page_of(run, tests, **extra):
    s = {**summarise(run, tests), **extra}
    page = build_page(s)
    return s, render_markdown(page), render_html(page)


# ---- 1. the evidence rule ----------------------------------------------------------------------------------------

def test_a_run_on_a_backend_that_supports_nothing_has_no_verdict(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tests"))
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--profile", "smoke", "-n", "2",
                           "--backend", "test_report:NothingSupportedBackend", "--selfcheck", "",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode != 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "verdict NO VERDICT" in proc.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["verdict"] == "NO VERDICT" and summary["counts"].get("passed", 0) == 0
    assert any("no test executed" in r for r in summary["verdict_reasons"])
    assert summary["evidence"]["executed"] == 0
    # every skip is grouped under its reason: the cases' (the backend's own words) and the chain relation's
    by_reason = {s["reason"]: s["tests"] for s in summary["skips"]}
    assert sum(by_reason.values()) == summary["counts"]["skipped"]
    skipped = by_reason["backend nothing does not support this case: this backend supports no case"]
    assert set(by_reason) <= {"backend nothing does not support this case: this backend supports no case",
                              "backend nothing does not support this case: backend nothing has no invoke_chain"}
    md = (tmp_path / "summary.md").read_text()
    assert "# MC2 conformance sign-off: **NO VERDICT**" in md
    assert f"| backend nothing does not support this case: this backend supports no case | {skipped} |" in md
    # `report` on the same folder says the same, with the same exit status
    rep = subprocess.run([sys.executable, "-m", "conformance.cli", "report", str(tmp_path), "--selfcheck", ""],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    assert rep.returncode == 1 and "verdict NO VERDICT" in rep.stdout


def test_constraints_covered_only_by_skipped_tests_withhold_the_verdict():
    a, b, c = CONSTRAINTS[0].id, CONSTRAINTS[1].id, CONSTRAINTS[2].id
    tests = [entry("passed", [a]), entry("skipped", [b], message="Skipped: needs 8 devices"),
             entry("skipped", [b, c], message="Skipped: needs 8 devices"), entry("passed", [c])]
    s = summarise(RUN, tests)
    assert s["verdict"] == "NO VERDICT"
    assert s["evidence"]["only_skipped"] == [b]
    assert any(b in r and "only skipped" in r for r in s["verdict_reasons"])
    assert s["skips"] == [("needs 8 devices", 2)]
    # a waived failure counts as executed
    assert summarise(RUN, tests + [entry("waived", [b])])["verdict"] == "PASS WITH WAIVERS"
    # FAIL beats NO VERDICT
    assert summarise(RUN, tests + [entry("failed", [a])])["verdict"] == "FAIL"
    assert summarise(RUN, [])["verdict"] == "NO VERDICT"
    assert summarise(RUN, [entry("passed", [a]), entry("passed", [b])])["verdict"] == "PASS"


def test_the_page_gives_the_reason_and_lists_skips_by_reason():
    a, b = CONSTRAINTS[0].id, CONSTRAINTS[1].id
    tests = [entry("passed", [a]), entry("skipped", [b], message="Skipped: needs 8 devices"),
             entry("skipped", [b], message="Skipped: needs 8 devices"), entry("skipped", [], message="Skipped: other")]
    _, md, html = page_of(RUN, tests)
    assert "**NO VERDICT**" in md and f"only skipped): {b}" in md
    assert "| needs 8 devices | 2 |" in md and "| other | 1 |" in md
    assert "<td>needs 8 devices</td><td>2</td>" in html


# ---- 2. what was signed off -----------------------------------------------------------------------------------------

def test_the_header_says_what_was_signed_off():
    tests = [entry("passed", [CONSTRAINTS[0].id]), entry("passed", [CONSTRAINTS[0].id], op="QuantMatmulAllReduceV3")]
    s, md, html = page_of(RUN, tests)
    head = md.split("## Matrix")[0]
    for fact in ("| backend | aclnn |", "| backend description | aclnn (libopapi.so of CANN 8.0.RC3) |",
                 "| profile | signoff |", "| world sizes | 2, 8 |",
                 "| operators | MatmulAllReduceAddRmsNorm, QuantMatmulAllReduceV3 |", "| CANN version | 8.0.RC3 |",
                 "| document revision | repo-c29bc10 |", "| status check | convention |", "| nodes | 1 |"):
        assert fact in head, fact
    assert "simulator run" not in md and "simulator run" not in html
    assert s["signed_off"]["CANN version"] == "8.0.RC3"


@pytest.mark.parametrize("backend", ["sim", "sim-cann", "sim-process", "torch-cpu"])
def test_a_simulator_run_is_labelled_not_a_hardware_sign_off(backend):
    _, md, html = page_of({**RUN, "backend": backend}, [entry("passed", [CONSTRAINTS[0].id])])
    assert "simulator run: not a hardware sign-off" in md.split("## What was signed off")[0]
    assert "simulator run: not a hardware sign-off" in html.split("What was signed off")[0]


# ---- 3. legend, blank cells, failures first, Allure link, accuracy labels, environment ------------------------------

def _cell(html, cid, ws, dtype):
    m = re.search(rf"<td class='cell (\w+)' data-constraint='{cid}' data-world-size='{ws}' data-dtype='{dtype}'"
                  rf" title='([^']*)'", html)
    assert m, (cid, ws, dtype)
    return m.group(1), m.group(2)


def test_the_matrix_has_a_legend_and_says_why_a_cell_is_blank():
    tests = [entry("passed", ["MARN-SHAPE-001"], ws=2, dtype="float16")]
    _, md, html = page_of(RUN, tests)
    legend = html.split("<table id='legend'>")[1].split("</table>")[0]
    for meaning in ("passed", "failed", "waived", "skipped", "not run", "not applicable"):
        assert meaning in legend, meaning
    assert _cell(html, "MARN-SHAPE-001", 2, "float16")[0] == "pass"
    state, why = _cell(html, "MARN-SHAPE-001", 8, "float16")  # the catalogue has one, this run had none
    assert state == "notrun" and why.startswith("MARN-SHAPE-001 w8 float16: not run")
    state, why = _cell(html, "MARN-WORLD-001", 2, "float16")  # a world-size rejection: no case at a valid size
    assert state == "na" and "not applicable: no case in the catalogue for this cell" in why
    assert "| not run | not run: the catalogue has a case" in md and "| n/a | not applicable" in md
    row = next(line for line in md.splitlines() if line.startswith("| MARN-WORLD-001 | n/a"))
    assert "." not in row.split("|", 2)[2]


def _h2(md: str, html: str):
    md_titles = [re.sub(r"\*\*", "", line.lstrip("#").strip()) for line in md.splitlines()
                 if re.match(r"^#{1,2} ", line)]
    html_titles = [re.sub(r"<[^>]+>", "", m) for m in re.findall(r"<h[12]>(.*?)</h[12]>", html)]
    import html as h
    return md_titles, [h.unescape(t) for t in html_titles]


def test_on_fail_the_failures_come_before_the_matrix_in_both_renderings():
    a = CONSTRAINTS[0].id
    _, md, html = page_of(RUN, [entry("passed", [a]), entry("failed", [a], message="boom\nrepro: pytest x")])
    md_titles, html_titles = _h2(md, html)
    assert md_titles == html_titles
    assert md_titles.index("Failures") < md_titles.index("Matrix: constraint × world size × dtype")
    _, md, html = page_of(RUN, [entry("passed", [a])])
    md_titles, html_titles = _h2(md, html)
    assert md_titles == html_titles
    assert md_titles.index("Failures") > md_titles.index("Matrix: constraint × world size × dtype")


def test_markdown_and_html_have_the_same_sections_in_the_same_order():
    a = CONSTRAINTS[0].id
    _, md, html = page_of({"nodes": [{"name": "node1:a", **RUN}, {"name": "node2:b", **RUN}]},
                          [entry("passed", [a]), entry("waived", [a], message="waived: x")],
                          waiver_findings=["waiver 'x' matches no collected test"])
    md_titles, html_titles = _h2(md, html)
    assert md_titles == html_titles
    for kept in ("Constraints", "Rejections: promised and observed status (per rank, with the phase it came from)",
                 "Deviations of the published implementation from the documents",
                 "Documented ambiguities (the suite's choice)", "Waived failures",
                 "Accuracy (worst error / derived bound; vendor metrics on rank 0)"):
        assert kept in md_titles, kept
    assert md_titles.count("Environment of node1:a") == 1 and "Environment" not in md_titles
    assert "| nodes | 2 |" in md


@pytest.mark.parametrize("built", [False, True])
def test_the_allure_link_only_when_the_report_was_built(tmp_path, built):
    a = CONSTRAINTS[0].id
    log = write_log(tmp_path / "results.jsonl", RUN, [entry("passed", [a]), entry("failed", [a], message="boom")])
    write_summary(log, tmp_path, allure_built=built)
    assert ("allure-report/index.html" in (tmp_path / "summary.html").read_text()) is built
    assert ("allure-report/index.html" in (tmp_path / "summary.md").read_text()) is built


def test_the_allure_link_follows_the_folder_by_default(tmp_path):
    log = write_log(tmp_path / "results.jsonl", RUN, [entry("passed", [CONSTRAINTS[0].id])])
    write_summary(log, tmp_path)
    assert "allure-report/index.html" not in (tmp_path / "summary.html").read_text()
    (tmp_path / "allure-report").mkdir()
    (tmp_path / "allure-report" / "index.html").write_text("<html></html>")
    write_summary(log, tmp_path)
    assert "allure-report/index.html" in (tmp_path / "summary.html").read_text()


def test_accuracy_rows_carry_the_real_output_name():
    bound = {"max_ratio": 0.5, "checked": 4, "failed": 0}
    v3 = entry("passed", [CONSTRAINTS[0].id], op="QuantMatmulAllReduceV3",
               stats={"rank 0 output: error bound": bound, "rank 0 output: rounding balance": {"balance": 0.1},
                      "vendor metrics (rank 0)": {"vendor_metrics": {"output": {"max_rel_error": 1e-3}}}})
    inplace = entry("passed", [CONSTRAINTS[0].id], op="InplaceMatmulAllReduceAddRmsNorm",
                    stats={"rank 0 y (in residual): error bound": bound, "rank 1 normOut: error bound": bound,
                           "vendor metrics (rank 0)": {"vendor_metrics": {"y": {"max_rel_error": 2e-3}}}})
    s, md, _ = page_of(RUN, [v3, inplace])
    assert set(s["accuracy"]["QuantMatmulAllReduceV3 / float16"]) == {"output"}
    assert set(s["accuracy"]["InplaceMatmulAllReduceAddRmsNorm / float16"]) == {"y", "normOut"}
    assert "| QuantMatmulAllReduceV3 / float16 | output | 0.500 |" in md
    assert "| InplaceMatmulAllReduceAddRmsNorm / float16 | y (in residual) | 0.500 |" in md


def test_environment_once_and_from_the_node_not_the_rendering_machine():
    import platform
    _, md, html = page_of(RUN, [entry("passed", [CONSTRAINTS[0].id])])
    assert md.count("Environment") == 1 and html.count("Environment") == 1
    env = md.split("## Environment")[1].split("\n## ")[0]
    for fact in ("| hostname | npu-node-7 |", "| python | 3.99.1 |", "| platform | Linux-test-aarch64 |",
                 "| git_revision | abc1234 |", "| suite_version | 9.9.9 |"):
        assert fact in env, fact
    assert platform.platform() not in env and "rendering machine" not in env
    old = {k: v for k, v in RUN.items() if k != "node"}  # a log written before the plugin recorded "node"
    _, md, _ = page_of(old, [entry("passed", [CONSTRAINTS[0].id])])
    env = md.split("## Environment")[1].split("\n## ")[0]
    assert f"| python (rendering machine) | {platform.python_version()} |" in env


# ---- 5. the package and its old paths --------------------------------------------------------------------------------

def test_the_old_module_paths_are_gone():
    """conformance.report / .waivers / .allure_results were aliases of the reporting modules; importers use
    conformance.reporting.summary / .waivers / .allure_results, and no alias comes back. (Checked as files of
    the package: an editable install of another checkout could still resolve the names.)"""
    import conformance
    package = Path(conformance.__file__).parent
    for name in ("report", "waivers", "allure_results"):
        assert not (package / f"{name}.py").exists(), name
        assert (package / "reporting" / f"{'summary' if name == 'report' else name}.py").exists(), name


def test_simulator_label_comes_from_the_backends_declared_target_not_its_name():
    from conformance.protocol import TARGET_CPU_REFERENCE, TARGET_HARDWARE, TARGET_SIMULATOR
    from conformance.reporting.summary import is_simulator
    from conformance.results import RunEntry
    assert is_simulator(RunEntry(backend="my.pkg:Device", environment={"target": TARGET_SIMULATOR}))
    assert is_simulator(RunEntry(backend="x", environment={"target": TARGET_CPU_REFERENCE}))
    assert not is_simulator(RunEntry(backend="sim-lookalike", environment={"target": TARGET_HARDWARE}))
    assert is_simulator(RunEntry(backend="sim", environment={}))  # a log from before the declaration: by name
    from conformance.backends import load_backend
    for name in ("sim", "sim-cann"):
        assert load_backend(name).describe()["target"] == TARGET_SIMULATOR
