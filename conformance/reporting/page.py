"""The verdict page as one model (a list of sections, each a title and structured blocks) and its two
renderings: Markdown (summary.md) and self-contained HTML (summary.html: no scripts, no remote resources).
Both render the same sections in the same order; only the markup differs.

Order: verdict and evidence, what was signed off, [changes against a baseline, with run --baseline],
[failures, on FAIL], matrix with its legend, accuracy, [precision standard, when cases recorded it],
[failures otherwise], mistrusted (passed, flagged), [relations], implementation paths, skipped tests by reason,
waived failures,
environment (per node), constraints, rejections, deviations, ambiguities.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Union

from .. import operators
from ..results import NO_REASON, Summary, selfcheck_line

NOT_HARDWARE_SUFFIX = " run: not a hardware sign-off"
SIMULATOR_LABEL = f"simulator{NOT_HARDWARE_SUFFIX}"
MATRIX_WORLD_SIZES = (1, 2, 4, 8)
MATRIX_DTYPES = tuple(dict.fromkeys(d for op in operators.all_operators() for d in op.dtypes))  # the records' dtypes
# a matrix cell: (symbol on the page, symbol in Markdown, meaning); "na" and "notrun" are the two blanks
CELL_STATES = {
    "pass": ("\u2713", "ok", "passed"),
    "fail": ("\u2717", "**FAIL**", "failed"),
    "waived": ("W", "waived", "failed, waived (a known deviation)"),
    "skipped": ("s", "skip", "skipped only (no case of the cell executed)"),
    "notrun": ("\u2013", "not run", "not run: the catalogue has a case for this cell, none was in this run"),
    "na": ("", "n/a", "not applicable: no case in the catalogue for this cell"),
}


def matrix_rows(s: Summary):
    """(constraint id, [(world size, dtype, state, why)]) for every constraint: the verdict page's matrix."""
    names = {"passed": "pass", "failed": "fail", "waived": "waived", "skipped": "skipped"}
    catalogue = s.matrix_catalogue or {}
    for con in s.catalogue.constraints:
        cells = []
        for ws in MATRIX_WORLD_SIZES:
            for dt in MATRIX_DTYPES:
                key = f"{con.id}|{ws}|{dt}"
                state = names.get(s.matrix.get(key))
                if state is None:
                    state = "notrun" if key in catalogue else "na"
                why = CELL_STATES[state][2]
                if state == "notrun":
                    why += f" (profile {catalogue[key]}, world size {ws})"
                cells.append((ws, dt, state, why))
        yield con.id, cells


def constraint_state(c: dict) -> str:
    if c["failed"]:
        return "fail"
    if c.get("waived"):
        return "waived"
    if c["passed"]:
        return "pass"
    return "skipped" if c["skipped"] else "not run"


def _run_counts(r: dict) -> str:
    return ", ".join(f"{v} {k}" for k, v in r.items() if v) or "no matching case ran"


# ---- the model -------------------------------------------------------------------------------------------------

@dataclass
class Text:
    """A run of inline text; `cls` colours it on the page, `strong` bolds it in both renderings."""
    text: str
    strong: bool = False
    cls: str = ""
    href: str = ""
    lang: str = ""


Inline = Union[str, Text]


@dataclass
class Para:
    parts: list
    cls: str = ""


@dataclass
class Cell:
    parts: list  # of Inline
    cls: str = ""
    title: str = ""
    lang: str = ""
    data: dict = field(default_factory=dict)
    md: str | None = None  # the Markdown rendering's text where it differs (no colours there)


@dataclass
class Row:
    cells: list  # of Cell | str
    cls: str = ""


@dataclass
class Table:
    head: list  # of str ("\n" = a line break in the header)
    rows: list  # of Row | list[Cell | str]
    id: str = ""
    cls: str = ""


@dataclass
class Bullets:
    items: list  # of list[Inline]


@dataclass
class Pre:
    text: str


@dataclass
class Sub:
    title: str
    blocks: list


@dataclass
class Section:
    id: str
    title: list  # of Inline
    blocks: list
    level: int = 2


# ---- building it ----------------------------------------------------------------------------------------------

def _counts_line(c: dict) -> str:
    here = f", {c['not run here']} not run here (hardware only)" if c.get("not run here") else ""
    return (f"{c.get('passed', 0)} passed, {c.get('failed', 0)} failed, {c.get('waived', 0)} waived, "
            f"{c.get('skipped', 0)} skipped{here}")


def build_page(summary: Summary) -> list[Section]:
    """The page of a Summary (the run is in the summary, as its environments)."""
    s = Summary.coerce(summary)
    verdict = s.verdict
    allure = bool(s.allure_built)
    sections = [_verdict_section(s, allure), _signed_off_section(s)]
    if s.diff:
        sections.append(_diff_section(s.diff))
    failures = _failures_section(s, allure)
    if verdict == "FAIL":
        sections.append(failures)
    sections += [_matrix_section(s), _accuracy_section(s)]
    if (s.precision or {}).get("rows"):
        sections.append(_precision_section(s.precision))
    if verdict != "FAIL":
        sections.append(failures)
    sections += [_mistrusted_section(s)]
    if s.not_run_here:
        sections.append(_not_run_here_section(s))
    if s.relations:
        sections.append(Section("relations", ["Metamorphic relations (no reference needed)"], [
            Para([_determinism_line(s)]),
            Table(["relation", "held", "did not hold", "not evaluated"], s.relations, id="relations")]))
    sections += [_paths_section(s), _skips_section(s), _waived_section(s), *_environment_sections(s),
                 _constraints_section(s), _rejections_section(s), _deviations_section(s), _ambiguities_section(s)]
    return sections


def _determinism_line(s: Summary) -> str:
    how = s.signed_off.get("determinism")
    if not how or how == "not recorded":  # a summary from before the run entry said it
        return ("Repeat runs are compared bit for bit and recorded: the documents do not promise determinism "
                "(--mc2-require-determinism makes it a check).")
    return f"Repeat runs are compared bit for bit; determinism: {how}."


def _verdict_section(s: Summary, allure: bool) -> Section:
    verdict = s.verdict
    blocks = []
    label = not_hardware(s)
    if label:
        blocks.append(Para([Text(label, strong=True)], cls="simulator"))
    label = {"NO VERDICT": "Why there is no verdict", "FAIL": "Why FAIL"}.get(verdict, "Evidence")
    blocks.append(Para([Text(label + ":", strong=True)]))
    blocks.append(Bullets([[r] for r in s.verdict_reasons or []]))
    line = [_counts_line(s.counts), " \u00b7 ", selfcheck_line(s.selfcheck)]
    if allure:
        line += [" \u00b7 ", Text("Allure report", href="allure-report/index.html")]
    blocks.append(Para(line))
    return Section("verdict", [_title(s), Text(verdict, strong=True, cls=verdict.split()[0])], blocks, level=1)


def not_hardware(s: Summary) -> str:
    """The warning of a run not on hardware ("" on hardware): the summary's label, else (a summary from before it
    was recorded) the simulator's."""
    facts = s.signed_off
    return (facts.get("not hardware") or SIMULATOR_LABEL) if facts.get("simulator") else ""


def _title(s: Summary) -> str:
    """The page's title: a sign-off on hardware and the simulators (whose label is well known); a run on another
    target that is not hardware (the CANN twin, whose backends carry hardware names) says the target in the
    title too."""
    label = not_hardware(s)
    if label and label != SIMULATOR_LABEL:
        return f"MC2 conformance on the {label.removesuffix(NOT_HARDWARE_SUFFIX)} (not a hardware sign-off): "
    return "MC2 conformance sign-off: "


def _signed_off_section(s: Summary) -> Section:
    facts = s.signed_off
    rows = [Row([k, str(v)]) for k, v in facts.items() if k not in ("simulator", "not hardware")]
    if facts.get("simulator"):
        rows.append(Row(["hardware", Cell([Text(not_hardware(s), strong=True)], cls="simtext")]))
    return Section("signed-off", ["What was signed off"], [Table(["what", "value"], rows, id="signed-off")])


def _diff_section(d: dict) -> Section:
    """The optional `diff` entry (reporting.diff.summary_entry, from `run --baseline`): the changes against the
    baseline run and links to the full diff pages written next to the summary."""
    blocks = [Para([f"Baseline {d['baseline']}: {d['headline']}. Full diff: ", Text("diff.html", href=d["html"]),
                    " · ", Text("diff.md", href=d["md"])])]
    if d.get("status"):
        blocks.append(Table(["test", "status change"], [Row([t, w], cls="fail") for t, w in d["status"]],
                            id="diff-status"))
        if d.get("more_status"):
            blocks.append(Para([f"... and {d['more_status']} more status changes in the full diff"]))
    return Section("diff", ["Changes against the baseline"], blocks)


def _matrix_section(s: Summary) -> Section:
    legend = Table(["symbol", "meaning"],
                   [Row([Cell([sym or "(blank)"], cls=f"sym {state}", md=md), meaning])
                    for state, (sym, md, meaning) in CELL_STATES.items()], id="legend")
    head = ["constraint"] + [f"w{ws}\n{dt}" for ws in MATRIX_WORLD_SIZES for dt in MATRIX_DTYPES]
    rows = [[cid] + [Cell([CELL_STATES[st][0]], cls=f"cell {st}", title=f"{cid} w{ws} {dt}: {why}",
                          md=CELL_STATES[st][1],
                          data={"constraint": cid, "world-size": ws, "dtype": dt})
                     for ws, dt, st, why in cells]
            for cid, cells in matrix_rows(s)]
    return Section("matrix", ["Matrix: constraint \u00d7 world size \u00d7 dtype"],
                   [Sub("Legend", [legend]), Table(head, rows, id="matrix")])


def _accuracy_section(s: Summary) -> Section:
    rows = [[key, a.get("output", out), f"{a['worst_ratio']:.3f}", a["worst_case"],
             f"{a.get('share_over_1ulp', 0):.2e}",
             f"{a.get('max_rel_error', 0):.2e}"]
            for key, outs in sorted(s.accuracy.items()) for out, a in sorted(outs.items())]
    return Section("accuracy", ["Accuracy (worst error / derived bound; vendor metrics on rank 0)"],
                   [Table(["operator / dtype", "output", "worst error/bound", "case", "share > 1 ulp", "max rel err"],
                          rows, id="accuracy") if rows else Para(["no accuracy statistics (no numeric case ran)"])])


def _precision_section(p: dict) -> Section:
    """The vendor precision standard's level per operator x dtype (worst over its cases; ratios device/chain)."""
    def ratio(r: dict, k: str) -> str:
        return f"{r['ratios'][k]:.3g}" if k in r["ratios"] else "-"
    rows = [[key, r["level"] or "not judged", ratio(r, "mare"), ratio(r, "mere"), ratio(r, "rmse"),
             ratio(r, "small_values"), f"{r['judged']}" + (f" ({r['not_judged']} not judged: {r.get('why_not')})"
                                                            if r["not_judged"] else ""),
             str(r["rechecked"]), r["worst_case"]]
            for key, r in sorted(p["rows"].items())]
    modes = ", ".join(p.get("modes") or ["informational"])
    return Section("precision", [f"Precision standard ({p.get('standard') or 'hicann/opbase'})"],
                   [Para([f"Level per operator / dtype: the worst over its cases (L2 best; limits on the device/"
                          f"chain ratios of MARE / MERE / RMSE: L0 10 / 2 / 2, L1 5 / 1.5 / 1.5, L2 2 / 1.2 / 1.2; "
                          f"small-value error ratio <= 2). Mode: {modes} (informational: recorded, never fails; "
                          f"opbase-Lx: a case below Lx fails as precision). See docs/precision-standard.md."]),
                    Table(["operator / dtype", "level", "MARE ratio", "MERE ratio", "RMSE ratio", "small-value ratio",
                           "cases", "re-checked", "worst case"], rows, id="precision")])


def _failures_section(s: Summary, allure: bool) -> Section:
    blocks = []
    for t in s.failures:
        sub = [Pre((t.message or "").strip())]
        if allure:
            sub.append(Para([Text("open in the Allure report", href="allure-report/index.html")]))
        blocks.append(Sub(t.nodeid, sub))
    return Section("failures", ["Failures"], blocks or [Para(["none"])])


def _mistrusted_section(s: Summary) -> Section:
    """Passed tests whose check could not discriminate (conformance/judge.py, the mistrusted block)."""
    rows = [[t.nodeid, t.info.mistrusted or ""] for t in s.mistrusted or ()]
    body = (Table(["test", "why the check cannot discriminate"], rows, id="mistrusted") if rows
            else Para(["none"]))
    return Section("mistrusted", [f"Mistrusted: passed, but the check could not discriminate ({len(rows)})"],
                   [Para(["Counted as passed. A degenerate case (nothing checked, or every output constant) "
                          "would pass a backend that does not compute."]), body])


def _not_run_here_section(s: Summary) -> Section:
    """Cases the backend could not hold (judge.py, category hardware_only): no evidence either way."""
    rows = [[t.nodeid, t.skip_reason()] for t in s.not_run_here]
    return Section("not-run-here", [f"Not run here: hardware only ({len(rows)})"],
                   [Para(["Not counted as passed, failed or skipped, and no evidence for the verdict: the backend "
                          "cannot hold these inputs; they run on hardware."]),
                    Table(["test", "why"], rows, id="not-run-here")])


def _skips_section(s: Summary) -> Section:
    skips = s.skips or []
    body = (Table(["reason", "tests"], [[r, str(n)] for r, n in skips], id="skips") if skips
            else Para(["none"]))
    return Section("skips", [f"Skipped tests by reason ({sum(n for _, n in skips)})"], [body])


def _waived_section(s: Summary) -> Section:
    items = [[f"{t.nodeid}: {t.message or ''}"] for t in s.waived]
    blocks = [Bullets(items) if items else Para(["none"])]
    if s.waiver_findings:
        blocks.append(Sub("Waiver findings", [Bullets([[x] for x in s.waiver_findings])]))
    return Section("waived", ["Waived failures"], blocks)


def _environment_sections(s: Summary) -> list[Section]:
    return [Section(f"environment-{i}" if name else "environment",
                    [f"Environment of {name}" if name else "Environment"],
                    [Table(["key", "value"], [[str(k), str(v)] for k, v in env.items()], cls="env")])
            for i, (name, env) in enumerate(s.environments, 1)]


def _constraints_section(s: Summary) -> Section:
    rows = []
    for con in s.catalogue.constraints:
        st = s.constraints[con.id]
        state = constraint_state(st)
        rows.append(Row([con.id, state, str(st["passed"]), str(st["failed"]), str(st.get("waived", 0)),
                         str(st["skipped"]), con.paraphrase], cls=state.replace(" ", "")))
    return Section("constraints", ["Constraints"],
                   [Table(["constraint", "verdict", "passed", "failed", "waived", "skipped", "promise"], rows,
                          id="constraints")])


def _rejections_section(s: Summary) -> Section:
    rows = [[cid, r["expected"], ", ".join(f"{k} x{n}" for k, n in r["observed"].items())]
            for cid, r in s.rejections.items()]
    return Section("rejections", ["Rejections: promised and observed status (per rank, with the phase it came from)"],
                   [Table(["constraint", "promised", "observed (status from phase x ranks)"], rows, id="rejections")])


def _deviations_section(s: Summary) -> Section:
    rows = [[d["id"], ", ".join(d["constraints"]), d["behaviour"], Cell([d["quote"]], lang="zh"), d["source"],
             _run_counts(d["run"])] for d in s.deviations]
    return Section("deviations", ["Deviations of the published implementation from the documents"],
                   [Table(["deviation", "constraints", "behaviour of the source", "document", "source", "this run"],
                          rows, id="deviations")])


def _ambiguities_section(s: Summary) -> Section:
    return Section("ambiguities", ["Documented ambiguities (the suite's choice)"],
                   [Bullets([[Text(a.id, strong=True), f": {a.statement} ", Text("Choice:", strong=True),
                              f" {a.choice}"] for a in s.catalogue.ambiguities])])


def _paths_section(s: Summary) -> Section:
    """Which implementation paths (the published tiling's and kernels' decisions) the judged cases reach, per
    platform, as sim-cann's path model places them (recorded by the run: conformance/path_coverage.py)."""
    title = ["Implementation paths"]
    cov = s.paths
    if cov is None:
        return Section("paths", title, [Para(["not recorded (a run from before path coverage)"])])
    if cov.error:
        return Section("paths", title, [Para([Text("The path model failed: ", strong=True), cov.error])])
    missing = len(cov.without_reason())
    blocks = [Para([f"The decisions of the published implementation that the {len(cov.cases)} judged cases reach "
                    f"(not skipped, not unsupported), as sim-cann's path model places them from their shapes at "
                    f"source revision {cov.revision}; counts are cases per platform. A side no case reaches states "
                    f"why, or says {NO_REASON}."]),
              Para([Text(cov.totals_line(), strong=True)]
                   + ([Text(f"; {missing} unreached without a stated reason", cls="FAIL")] if missing else []))]
    rows = []
    for b in cov.branches:
        for side in b.sides:
            unreached = [p for p in cov.platforms if not side.reached.get(p)]
            reason = (side.reason or NO_REASON) if unreached else ""
            rows.append(Row([Cell([b.id], title=f"{b.stage}: {b.decision} ({b.source})"),
                             Cell([side.name], title=side.condition)]
                            + [str(len(side.reached.get(p, ()))) for p in cov.platforms] + [reason],
                            cls=("fail" if reason == NO_REASON else "skipped" if reason else "")))
    if rows:
        blocks.append(Table(["branch", "side"] + [f"reached on {p}" for p in cov.platforms] + ["reason if unreached"],
                            rows, id="paths"))
    else:
        blocks.append(Para([f"the path models name no decision at revision {cov.revision}"]))
    return Section("paths", title, blocks)


# ---- Markdown ---------------------------------------------------------------------------------------------------

def _md_inline(parts, *, in_table=False) -> str:
    out = []
    for p in parts:
        if isinstance(p, Text):
            t = p.text
            if p.href:
                t = f"[{t}]({p.href})"
            if p.strong:
                t = f"**{t}**"
        else:
            t = str(p)
        out.append(t)
    text = "".join(out)
    if in_table:
        text = text.replace("|", "\\|").replace("\n", " / ")
    return text


def _md_cell(c) -> str:
    if isinstance(c, Cell):
        return _md_inline([c.md] if c.md is not None else c.parts, in_table=True)
    return _md_inline([c], in_table=True)


def _md_blocks(blocks, level: int) -> list[str]:
    lines: list[str] = []
    for b in blocks:
        if isinstance(b, Para):
            lines += [_md_inline(b.parts), ""]
        elif isinstance(b, Bullets):
            lines += [f"- {_md_inline(item)}" for item in b.items] + [""]
        elif isinstance(b, Pre):
            lines += ["```", b.text, "```", ""]
        elif isinstance(b, Table):
            lines += ["| " + " | ".join(h.replace("\n", " ") for h in b.head) + " |",
                      "|" + "---|" * len(b.head)]
            for r in b.rows:
                cells = r.cells if isinstance(r, Row) else r
                lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
            lines.append("")
        elif isinstance(b, Sub):
            lines += [f"{'#' * (level + 1)} {b.title}", ""] + _md_blocks(b.blocks, level + 1)
    return lines


def render_markdown(page: list[Section]) -> str:
    lines: list[str] = []
    for sec in page:
        lines += [f"{'#' * sec.level} {_md_inline(sec.title)}", ""] + _md_blocks(sec.blocks, sec.level)
    return "\n".join(lines).rstrip("\n") + "\n"


# ---- HTML ---------------------------------------------------------------------------------------------------------

_CJK_FONTS = "'Noto Sans CJK SC','Noto Serif CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Droid Sans Fallback'"
_CSS = ("body{font-family:sans-serif;margin:1.5em;max-width:1300px}#matrix td{padding:1px 4px}"
        "table{border-collapse:collapse;margin:.6em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;"
        "text-align:left;vertical-align:top}"
        ".pass{background:#d4f4d4}.waived{background:#fff2b3}.fail{background:#f8c8c8}"
        ".skipped{background:#dde4f0}.notrun{background:#eee}.na{background:repeating-linear-gradient("
        "45deg,#fff,#fff 3px,#eee 3px,#eee 6px)}td.cell{text-align:center;width:2.2em}"
        "#deviations td:nth-child(5){word-break:break-all;min-width:16em}"
        "td.sym{text-align:center;width:4em}#legend td{font-size:12px;padding:1px 6px}"
        "#signed-off td:first-child{font-weight:bold;white-space:nowrap}"
        "pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}"
        ".PASS{color:#080}.FAIL{color:#b00}.NO{color:#b60}"
        ".simulator{color:#b60;border:2px solid #b60;padding:4px 8px;display:inline-block}"
        ".simtext{color:#b60}h1+p{margin-top:0}"
        "h3{font-size:15px;margin:.8em 0 .2em}"
        f":lang(zh){{font-family:sans-serif,{_CJK_FONTS}}}")


def _h_inline(parts) -> str:
    e = html.escape
    out = []
    for p in parts:
        if not isinstance(p, Text):
            out.append(e(str(p)))
            continue
        t = e(p.text)
        if p.strong:
            t = f"<b>{t}</b>"
        if p.href:
            t = f"<a href='{e(p.href)}'>{t}</a>"
        if p.cls or p.lang:
            t = (f"<span{_attrs(cls=p.cls, lang=p.lang)}>{t}</span>")
        out.append(t)
    return "".join(out)


def _attrs(**kw) -> str:
    names = {"cls": "class"}
    return "".join(f" {names.get(k, k)}='{html.escape(str(v))}'" for k, v in kw.items() if v not in (None, ""))


def _h_cell(c, tag="td") -> str:
    if not isinstance(c, Cell):
        return f"<{tag}>{_h_inline([c])}</{tag}>"
    data = "".join(_attrs(**{f"data-{k}": v}) for k, v in c.data.items())
    return f"<{tag}{_attrs(cls=c.cls)}{data}{_attrs(title=c.title, lang=c.lang)}>{_h_inline(c.parts)}</{tag}>"


def _h_blocks(blocks, level: int) -> list[str]:
    out = []
    for b in blocks:
        if isinstance(b, Para):
            out.append(f"<p{_attrs(cls=b.cls)}>{_h_inline(b.parts)}</p>")
        elif isinstance(b, Bullets):
            out.append("<ul>" + "".join(f"<li>{_h_inline(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Pre):
            out.append(f"<pre>{html.escape(b.text)}</pre>")
        elif isinstance(b, Table):
            head = "<tr>" + "".join(f"<th>{'<br>'.join(html.escape(x) for x in h.split(chr(10)))}</th>"
                                    for h in b.head) + "</tr>"
            rows = "".join(f"<tr{_attrs(cls=r.cls if isinstance(r, Row) else '')}>"
                           + "".join(_h_cell(c) for c in (r.cells if isinstance(r, Row) else r)) + "</tr>"
                           for r in b.rows)
            out.append(f"<table{_attrs(id=b.id, cls=b.cls)}>{head}{rows}</table>")
        elif isinstance(b, Sub):
            n = min(level + 1, 6)
            out.append(f"<h{n}>{html.escape(b.title)}</h{n}>")
            out += _h_blocks(b.blocks, level + 1)
    return out


def render_html(page: list[Section]) -> str:
    title = "".join(p.text if isinstance(p, Text) else p for p in page[0].title) if page else "MC2 sign-off"
    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           f"<style>{_CSS}</style></head><body>"]
    for sec in page:
        out.append(f"<section id='s-{html.escape(sec.id)}'><h{sec.level}>{_h_inline(sec.title)}</h{sec.level}>")
        out += _h_blocks(sec.blocks, sec.level)
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)
