"""What a run leaves behind: the results log (one JSON line per test result, conformance.results), its run
entry with the catalogue facts the verdict page quotes, the implementation paths its judged cases reach (a line at
the session's end), Allure's run files and crashed tests, and waivers (failures reported as waived, findings at
the end)."""

from __future__ import annotations

import json
import os
import platform
import time

import pytest

from .. import casegen, operators, path_coverage
from ..casegen.model import PROFILES
from ..reporting import allure_results
from ..results import (AmbiguityFact, CatalogueFacts, ConstraintFact, DeviationFact, RunEntry, TestEntry,
                        append, judged_case)
from ..spec import AMBIGUITIES, CONSTRAINTS
from ..spec import deviations as deviation_records
from ..spec.revisions import NEWEST, notices, revision_ids_for
from .options import Settings, active, settings


def deviation_setting(context=None) -> tuple[str, str]:
    """(source revision, --unsupported-inputs reading) the run's known deviations are taken at: sim-cann's revision
    option (the newest modelled when unset: the source of the CANN under test) and the run's reading."""
    if context is None:
        from ..context import DEFAULT_CONTEXT as context
    return context.deviation_setting


def catalogue_facts(s: Settings | None = None) -> CatalogueFacts:
    """What the verdict page says about the catalogue this run was collected from: its constraints, ambiguities,
    known deviations, and per matrix cell 'constraint|world size|dtype' the smallest profile with a case there
    (every profile and world size: a cell absent is not applicable, one present but absent from the run was not
    run)."""
    cells: dict = {}
    for case in casegen.catalogue():
        for cid in case.covers:
            key = f"{cid}|{case.world_size}|{case.dtype}"
            if key not in cells or PROFILES.index(case.profile) < PROFILES.index(cells[key]):
                cells[key] = case.profile
    return CatalogueFacts(
        constraints=[ConstraintFact(c.id, c.kind, c.paraphrase)  # the selected document revision's records
                     for c in (s.constraints.values() if s is not None else CONSTRAINTS)],
        ambiguities=[AmbiguityFact(a.id, a.statement, a.choice) for a in AMBIGUITIES],
        deviations=[DeviationFact(d.id, list(d.constraints), d.document_quote, d.source_ref, d.behaviour)
                    for d in deviation_records.active(*deviation_setting(s.context if s is not None else None))],
        matrix_cells=cells)


def _doc_revision(spec: str | None) -> str:
    """The --doc-revision of the run as recorded: "latest" resolved to each document's revision (it moves as the
    suite learns newer revisions; the record must not)."""
    if not spec:
        return "shared (default)"
    if NEWEST not in (p.strip() for p in spec.split(",")):
        return spec
    return ",".join(f"{doc}={rid}" for doc, rid in revision_ids_for(spec).items())


def run_entry(s: Settings) -> RunEntry:
    from .. import __version__
    from ..reporting.summary import git_revision
    node = {"hostname": platform.node(), "python": platform.python_version(), "platform": platform.platform(),
            "suite_version": __version__, "git_revision": git_revision()}
    return RunEntry(backend=s.backend_spec, profile=s.profile, world_sizes=list(s.world_sizes), seed=s.seed,
                    faults=list(s.faults), accumulation=s.accumulation, status_check=s.status_check,
                    unsupported_inputs=s.context.unsupported_inputs,
                    doc_revision=_doc_revision(s.doc_revision),
                    hccl_deterministic=s.hccl_deterministic or "unset",
                    determinism={op.name: s.determinism_rule(op.name)[1] for op in operators.all_operators()
                                 if "determinism" in op.relations},
                    doc_notices=notices(revision_ids_for(s.doc_revision or "")),
                    cann_version=s.cann_version, node=node,
                    environment=s.environment, started=time.time(), catalogue=catalogue_facts(s))


def pytest_configure(config):
    if active(config) is None or hasattr(config, "workerinput"):  # run-wide facts: once, from the controller
        return
    s = settings(config)
    alluredir = config.getoption("--alluredir", None)
    if alluredir:
        from .. import __version__
        from ..reporting.summary import git_revision
        allure_results.write_run_files(alluredir, {
            **s.environment, "suite_version": __version__, "git_revision": git_revision(),
            "profile": s.profile, "world_sizes": ",".join(map(str, s.world_sizes)),
            "seed": s.seed, "faults": ",".join(s.faults) or "none", "cann_version": s.cann_version or "unknown"})
    path = config.getoption("--mc2-results")
    if path:  # workers' reports reach the controller
        config.pluginmanager.register(ResultsLog(path, s), "mc2-results-log")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failure matched by an active waiver is reported as waived (xfailed with the waiver's reason)."""
    outcome = yield
    report = outcome.get_result()
    book = getattr(active(item.config), "waivers", None)
    if book is None or not report.failed or report.when not in ("call", "setup"):
        return
    waiver = book.waiver_for(item.nodeid)
    if waiver is not None:
        report.outcome = "skipped"
        report.wasxfail = waiver.label()


def pytest_terminal_summary(terminalreporter, config):
    book = getattr(active(config), "waivers", None)
    if book is None or hasattr(config, "workerinput"):
        return
    findings = book.findings()
    if findings:
        terminalreporter.section("waivers")
        for line in findings:
            terminalreporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem, report, sched):
    """xdist lost a worker in the middle of `crashitem`: make it appear in Allure as broken."""
    alluredir = sched.config.getoption("--alluredir", None)
    if alluredir:
        allure_results.write_broken(alluredir, crashitem, f"worker crashed while running {crashitem}")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """Under xdist the controller collects nothing itself: it learns the test ids from the workers."""
    book = getattr(active(node.config), "waivers", None)
    if book is not None:
        book.note_collected(ids)


def pytest_collection_finish(session):
    book = getattr(active(session.config), "waivers", None)
    if book is not None and session.items:
        book.note_collected([item.nodeid for item in session.items])


class ResultsLog:
    """Controller side (also without xdist): one JSON line per test, appended as each report arrives, so
    nothing is lost if a worker dies (xdist reports the crashed test as failed, and it is logged too)."""

    def __init__(self, path: str, s: Settings):
        self.path = path
        self.revision = s.context.sim_cann_revision  # the path model's revision: sim-cann's (None: the newest)
        self.judged: set[str] = set()  # the case ids the run judged: placed on the paths at the end
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        append(path, run_entry(s))

    def pytest_runtest_logreport(self, report):
        if not (report.when == "call" or report.outcome != "passed"):
            return
        props = {k: json.loads(v) for k, v in report.user_properties if k in ("mc2", "mc2_relation")}
        entry = TestEntry.from_dict({"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
                                     "duration": round(report.duration, 4), "time": time.time(), **props})
        wasxfail = getattr(report, "wasxfail", "")
        if report.outcome == "skipped" and wasxfail.startswith("waived:"):
            entry.outcome = "waived"
            entry.message = wasxfail
        elif report.outcome == "failed":
            entry.message = str(report.longrepr)[-4000:]
        elif report.outcome == "skipped" and isinstance(report.longrepr, tuple):
            entry.message = report.longrepr[2]
        append(self.path, entry)
        case_id = judged_case(entry)
        if case_id:
            self.judged.add(case_id)

    def pytest_sessionfinish(self, session):
        # which implementation paths the judged cases reach, on every modelled platform (conformance.path_coverage)
        append(self.path, path_coverage.of_case_ids(self.judged, casegen.catalogue(), revision=self.revision))
        book = settings(session.config).waivers
        if book is not None:
            append(self.path, book.findings())
