"""Allure results for sign-off reports (allure-pytest writes them with --alluredir).

Per test (called from the judge_case fixture): epic = operator, feature = constraint family, story = constraint
id, severity by what is at stake, a readable title, parameters (dtype, world size, tensor shapes, seed), and on
failure the error statistics (JSON) and the worst element of every failed check (CSV). Once per run, from the
controller only: environment.properties and categories.json (the failure categories of conformance.judge).
A test whose xdist worker crashed gets a "broken" result written here, since allure-pytest never saw it finish.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from pathlib import Path

from ..results import Category

C = Category  # the judge's failure categories: a failure's message starts "<case id>: <category>"
CATEGORIES = [
    {"name": "wrong status code", "matchedStatuses": ["failed"], "messageRegex": rf"(?s).*: {C.WRONG_STATUS}\b.*"},
    {"name": "tolerance exceeded", "matchedStatuses": ["failed"],
     "messageRegex": rf"(?s).*: ({C.TOLERANCE}|{C.EXACT_MISMATCH})\b.*"},
    {"name": "cross-rank mismatch", "matchedStatuses": ["failed"],
     "messageRegex": rf"(?s).*: {C.CROSS_RANK_MISMATCH}\b.*"},
    {"name": "bad output", "matchedStatuses": ["failed"],
     "messageRegex": rf"(?s).*: ({C.BAD_OUTPUT}|{C.BACKEND_ERROR})\b.*"},
    {"name": "timeout", "matchedStatuses": ["failed", "broken"], "messageRegex": r"(?s).*(timeout|timed out).*"},
    {"name": "crash", "matchedStatuses": ["broken", "failed"], "messageRegex": rf"(?s).*(: {C.CRASH}\b|crashed).*"},
    {"name": "not supported", "matchedStatuses": ["skipped"], "messageRegex": r"(?s).*does not support.*"},
]
SEVERITY = {"compute": "critical", "reject": "normal", "accept": "normal"}


def label_case(case, *, seed: int, constraint_kinds=()) -> None:
    """Label the running test with its case (a casegen Case); `constraint_kinds`: the kinds (reject / accept /
    compute) of the constraints the case covers, as the caller's catalogue states them (the severity)."""
    import allure

    allure.dynamic.epic(case.op)
    for family in sorted({cid.split("-")[1] for cid in case.covers}):
        allure.dynamic.feature(family)
    for cid in case.covers:
        allure.dynamic.story(cid)
    allure.dynamic.severity("critical" if "compute" in set(constraint_kinds) else "normal")
    what = {"invalid": "rejects", "valid": "computes", "exact": "computes exactly"}.get(case.kind, case.kind)
    allure.dynamic.title(f"{case.op} {what} {case.id} ({case.dtype}, {case.world_size} rank"
                         f"{'s' if case.world_size != 1 else ''})")
    allure.dynamic.parameter("case", case.id)  # replaces the dataclass repr pytest passes on
    allure.dynamic.parameter("dtype", case.dtype)
    allure.dynamic.parameter("world size", case.world_size)
    allure.dynamic.parameter("shapes", ", ".join(f"{n}{list(s.shape)}" if s else f"{n}=null" for n, s in case.tensors))
    allure.dynamic.parameter("seed", case.seed(seed))


def attach_failure(outcome) -> None:
    import allure
    allure.attach(json.dumps(outcome.stats(), indent=1, default=float), name="error statistics",
                  attachment_type=allure.attachment_type.JSON)
    rows = [c for c in outcome.failures if "worst_index" in c.stats]
    if rows:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["check", "failed", "checked", "worst index", "value", "reference", "bound"])
        for c in rows:
            s = c.stats
            w.writerow([c.name, s["failed"], s["checked"], s["worst_index"], s["worst_actual"], s["worst_reference"],
                        s["worst_bound"]])
        allure.attach(buf.getvalue(), name="worst elements", attachment_type=allure.attachment_type.CSV)
    png = error_plot_png(outcome)
    if png:
        allure.attach(png, name="error against bound", attachment_type=allure.attachment_type.PNG)


def error_plot_png(outcome) -> bytes | None:
    """Error against bound for the failing checks' worst elements; None without matplotlib (an optional extra,
    imported only here, with the Agg backend)."""
    samples = [(c.name, c.stats["sample"]) for c in outcome.failures if "sample" in c.stats]
    if not samples:
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=80)
    lo, hi = float("inf"), 0.0
    for name, sample in samples[:6]:
        finite = [(b, e) for b, e in zip(sample["bound"], sample["error"]) if b > 0 and e > 0 and e != float("inf")]
        if finite:
            ax.scatter([b for b, _ in finite], [e for _, e in finite], s=8, label=name)
            lo = min(lo, min(min(b, e) for b, e in finite))
            hi = max(hi, max(max(b, e) for b, e in finite))
    if hi > 0:
        ax.plot([lo, hi], [lo, hi], "k--", linewidth=1, label="error = bound")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("derived bound")
    ax.set_ylabel("|error|")
    ax.set_title(outcome.case_id, fontsize=8)
    ax.legend(fontsize=6)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_run_files(alluredir: str, environment: dict) -> None:
    d = Path(alluredir)
    d.mkdir(parents=True, exist_ok=True)
    lines = [f"{k.replace(' ', '_')}={str(v).replace(chr(10), ' ')}" for k, v in environment.items()]
    (d / "environment.properties").write_text("\n".join(lines) + "\n")
    (d / "categories.json").write_text(json.dumps(CATEGORIES, indent=1))
    # Allure 3's default report ignores categories.json; it reads them from allurerc.mjs beside the results
    (d.parent / "allurerc.mjs").write_text("export default " + json.dumps({"categories": CATEGORIES}, indent=1) + ";\n")


def write_broken(alluredir: str, nodeid: str, message: str) -> None:
    now = int(time.time() * 1000)
    result = {"uuid": str(uuid.uuid4()), "historyId": nodeid, "fullName": nodeid, "name": nodeid.split("::")[-1],
              "status": "broken", "statusDetails": {"message": message}, "stage": "finished", "start": now,
              "stop": now, "labels": [{"name": "framework", "value": "pytest"}]}
    Path(alluredir, f"{result['uuid']}-result.json").write_text(json.dumps(result))
