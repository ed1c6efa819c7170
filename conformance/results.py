"""The results schema: what a run writes and what reporting reads, defined once.

- `Category`: the failure categories a judged case (or a relation) ends in; str-valued, so the JSON is the
  category's word ("pass", "wrong_status", ...).
- `RunEntry`: the first line of results.jsonl (the run's settings, the node, the backend's description) and,
  since the catalogue is the run's and not the renderer's, `CatalogueFacts`: the constraints, ambiguities,
  deviations and matrix cells of the catalogue the run was collected from.
- `CaseRecord` (the `mc2` property of a case test), `RelationRecord` (`mc2_relation`), `TestEntry` (one line per
  test result); `read_log` / `append` are the only reader and writer of the file.
- `PathCoverage`: which cases reach each side of each implementation decision per platform (the plugin records
  it for the cases a run judged, at the session's end; summary.json's `paths`).
- `Summary`: the verdict's facts (summary.json); `Summary.to_json` writes them, `Summary.from_json` reads them
  back, and the verdict page is rendered from a Summary alone.

This module imports nothing of the suite: the pytest plugin (writer) and reporting (reader) both sit above it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class Category(str, Enum):
    """How a judged case (conformance.judge) or a relation check (conformance.relations) ended."""

    PASS = "pass"
    MISTRUSTED = "mistrusted"  # passed, but the check could not discriminate (judge.py)
    PRECISION = "precision"  # below the vendor precision standard's level (only with a standard set)
    WRONG_STATUS = "wrong_status"
    TOLERANCE = "tolerance"
    EXACT_MISMATCH = "exact_mismatch"
    CROSS_RANK_MISMATCH = "cross_rank_mismatch"
    NONDETERMINISTIC = "nondeterministic"  # relations: repeat runs differ (a check only when required)
    BAD_OUTPUT = "bad_output"
    UNSUPPORTED = "unsupported"
    # not run: the case needs more than this backend can hold (host memory); it runs on hardware. Counted apart:
    # neither a failure nor a skip that withholds the verdict (reporting.summary)
    HARDWARE_ONLY = "hardware_only"
    BACKEND_ERROR = "backend_error"
    TIMEOUT = "timeout"  # protocol.RankFailure kinds
    CRASH = "crash"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value) -> "Category | str":
        """The member for a known word; an unknown word (a newer writer) stays a plain string."""
        try:
            return cls(value)
        except ValueError:
            return value

    @property
    def passed(self) -> bool:
        return self in (Category.PASS, Category.MISTRUSTED)


# ---- check names ------------------------------------------------------------------------------------------------

_OUTPUT_OF_STAT = re.compile(r"^rank \d+ (?P<output>[^:]+?)(?::|$)")


def output_of(stat_name: str) -> str:
    """The output a check's statistics are about: 'rank 0 y (in residual): error bound' -> 'y (in residual)',
    'rank 0 output: error bound' -> 'output', 'rank 1 normOut: ...' -> 'normOut'. The writer records it per
    check (CaseRecord.stat_outputs); readers of older logs fall back to this."""
    m = _OUTPUT_OF_STAT.match(stat_name)
    return m.group("output").strip() if m else stat_name


# ---- helpers --------------------------------------------------------------------------------------------------------

def _from(cls, d: dict):
    """A dataclass from a dict, ignoring keys it does not know (a newer writer's)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


# ---- the catalogue facts of a run ---------------------------------------------------------------------------------

@dataclass
class ConstraintFact:
    id: str
    kind: str  # reject / accept / compute
    paraphrase: str


@dataclass
class AmbiguityFact:
    id: str
    statement: str
    choice: str


@dataclass
class DeviationFact:
    id: str
    constraints: list
    quote: str  # the document's sentence
    source: str  # file:line of the published source
    behaviour: str


@dataclass
class CatalogueFacts:
    """What the verdict page says about the catalogue, recorded by the run that used it (the plugin)."""

    constraints: list = field(default_factory=list)  # of ConstraintFact, in catalogue order
    ambiguities: list = field(default_factory=list)  # of AmbiguityFact
    deviations: list = field(default_factory=list)  # of DeviationFact
    matrix_cells: dict = field(default_factory=dict)  # "constraint|world size|dtype" -> smallest profile

    def to_dict(self) -> dict:
        return {"constraints": [dataclasses.asdict(c) for c in self.constraints],
                "ambiguities": [dataclasses.asdict(a) for a in self.ambiguities],
                "deviations": [dataclasses.asdict(d) for d in self.deviations],
                "matrix_cells": dict(self.matrix_cells)}

    @classmethod
    def from_dict(cls, d: dict | None) -> "CatalogueFacts":
        d = d or {}
        return cls([_from(ConstraintFact, c) for c in d.get("constraints") or ()],
                   [_from(AmbiguityFact, a) for a in d.get("ambiguities") or ()],
                   [_from(DeviationFact, x) for x in d.get("deviations") or ()],
                   dict(d.get("matrix_cells") or {}))


# ---- the run entry ------------------------------------------------------------------------------------------------

@dataclass
class RunEntry:
    """The first line of results.jsonl: {"run": {...}}. `name` is set only where several runs are merged."""

    backend: str | None = None
    profile: str | None = None
    world_sizes: list = field(default_factory=list)
    seed: int | None = None
    faults: list = field(default_factory=list)
    accumulation: str | None = None
    status_check: str | None = None
    unsupported_inputs: str | None = None  # the --unsupported-inputs reading (None: a log from before it)
    doc_revision: str | None = None
    # HCCL_DETERMINISTIC in effect for the run ("unset" where neither the option nor the environment set it), and
    # per operator how the determinism relation was judged under it (None: a log from before them)
    hccl_deterministic: str | None = None
    determinism: dict | None = None
    doc_notices: list = field(default_factory=list)  # what the selected document revision says beyond records
    cann_version: str | None = None
    node: dict | None = None
    environment: dict = field(default_factory=dict)
    started: float | None = None
    catalogue: CatalogueFacts | None = None
    waiver_findings: list = field(default_factory=list)  # the log's last line, kept with its run
    # which implementation paths the run's judged cases reach (a line the plugin writes at the session's end)
    paths: PathCoverage | None = None
    name: str = ""
    given: frozenset = field(default=frozenset(), repr=False, compare=False)  # keys the entry held (read back)

    _ORDER = ("backend", "profile", "world_sizes", "seed", "faults", "accumulation", "status_check",
              "unsupported_inputs", "doc_revision", "hccl_deterministic", "determinism", "doc_notices",
              "cann_version", "node", "environment", "started")

    def to_dict(self) -> dict:
        """The run entry as the plugin writes it (and as `diff` compares two of them)."""
        d: dict = {"name": self.name} if self.name else {}
        d.update({k: getattr(self, k) for k in self._ORDER})
        if self.catalogue is not None:
            d["catalogue"] = self.catalogue.to_dict()
        if self.waiver_findings:
            d["waiver_findings"] = list(self.waiver_findings)
        if self.paths is not None:
            d["paths"] = self.paths.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> "RunEntry":
        d = dict(d or {})
        if "catalogue" in d:
            d["catalogue"] = CatalogueFacts.from_dict(d["catalogue"])
        if "paths" in d:
            d["paths"] = PathCoverage.from_dict(d["paths"])
        d["given"] = frozenset(d)
        return _from(cls, d)

    def has(self, key: str) -> bool:
        """Whether the entry holds `key` (also as null): read back, the keys of its line; made here, the set ones."""
        return key in self.given or getattr(self, key, None) is not None


# ---- the test entries ---------------------------------------------------------------------------------------------

@dataclass
class CaseRecord:
    """The `mc2` property of a case test: what the judge found (conformance.judge.Outcome) about one case."""

    case_id: str = ""
    category: Category | str = ""
    op: str | None = None
    dtype: str | None = None
    world_size: int | None = None
    kind: str | None = None
    covers: list = field(default_factory=list)
    seconds: float | None = None
    stats: dict = field(default_factory=dict)  # check name -> statistics
    expected: str | None = None
    observed: list | None = None  # [(status, phase)] per rank
    output_hashes: dict | None = None
    inputs_sha256: str | None = None
    seed: int | None = None
    generator: str | None = None
    outputs_file: str | None = None  # --mc2-keep-outputs
    mistrusted: str | None = None  # why the passing check could not discriminate
    stat_outputs: dict | None = None  # check name -> the output it is about (output_of), where it names one
    deviations: list | None = None  # ids of the known deviations whose case patterns match case_id

    _OPTIONAL = ("outputs_file", "mistrusted", "stat_outputs", "deviations")  # written only when set

    def __post_init__(self):
        self.category = Category.parse(self.category) if self.category else self.category

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for k in self._OPTIONAL:
            if d[k] is None:
                del d[k]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CaseRecord":
        return _from(cls, d)

    def output_name(self, stat_name: str) -> str:
        """The output a check is about: as recorded, else parsed from the check's name (older logs)."""
        return (self.stat_outputs or {}).get(stat_name) or output_of(stat_name)


@dataclass
class RelationRecord:
    """The `mc2_relation` property of a metamorphic-relation test (cases/test_relations.py)."""

    relation: str
    case_id: str = ""
    status: str = ""
    held: bool | None = None
    detail: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RelationRecord":
        return _from(cls, d)


OUTCOMES = ("passed", "failed", "skipped", "waived")


@dataclass
class TestEntry:
    """One line of results.jsonl per test result (a setup error and the call of one test are two lines)."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str  # OUTCOMES
    when: str = "call"
    duration: float | None = None
    time: float | None = None
    mc2: CaseRecord | None = None
    mc2_relation: RelationRecord | None = None
    message: str | None = None

    def to_dict(self) -> dict:
        d: dict = {"nodeid": self.nodeid, "when": self.when, "outcome": self.outcome, "duration": self.duration,
                   "time": self.time}
        if self.mc2 is not None:
            d["mc2"] = self.mc2.to_dict()
        if self.mc2_relation is not None:
            d["mc2_relation"] = self.mc2_relation.to_dict()
        if self.message is not None:
            d["message"] = self.message
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TestEntry":
        d = dict(d)
        if d.get("mc2") is not None:
            d["mc2"] = CaseRecord.from_dict(d["mc2"])
        if d.get("mc2_relation") is not None:
            d["mc2_relation"] = RelationRecord.from_dict(d["mc2_relation"])
        return _from(cls, d)

    @classmethod
    def coerce(cls, t) -> "TestEntry":
        return t if isinstance(t, TestEntry) else cls.from_dict(t)

    @property
    def info(self) -> CaseRecord:
        """The case record, or an empty one (a test skipped before it reached the judge)."""
        return self.mc2 if self.mc2 is not None else CaseRecord()

    @property
    def category(self):
        return self.mc2.category if self.mc2 is not None else None

    def skip_reason(self) -> str:
        msg = (self.message or "").strip()
        return (msg[len("Skipped: "):] if msg.startswith("Skipped: ") else msg) or "(no reason given)"


# ---- implementation path coverage ----------------------------------------------------------------------------------

NO_REASON = "NO REASON"  # an unreached side whose path model states no reason: the gate (tests/test_paths.py) fails


@dataclass
class SideReach:
    """One side of an implementation decision and the cases that reach it, per platform."""

    name: str
    condition: str = ""
    reason: str = ""  # why no case need reach it (the model's Side.unreached); "": a case must
    reached: dict = field(default_factory=dict)  # platform name -> tuple of case ids, sorted
    reason_platforms: tuple = ()  # the platforms the reason holds on (the model's Side.unreached_on); (): every one

    def reason_on(self, platform: str) -> str:
        """The stated reason on `platform`, or NO_REASON."""
        holds = self.reason and (not self.reason_platforms or platform in self.reason_platforms)
        return self.reason if holds else NO_REASON


@dataclass
class BranchReach:
    """One shape- or flag-dependent decision of the published implementation (sim/cann/paths.Branch, as data)."""

    id: str
    stage: str = ""  # "host tiling" or "kernel"
    decision: str = ""
    source: str = ""  # its location at the coverage's revision
    operators: tuple = ()
    published: bool = True
    bound: str = ""  # how the model bounds a decision taken in unpublished code
    platform_dependent: bool = False
    sides: list = field(default_factory=list)  # of SideReach


@dataclass(frozen=True)
class Unreached:
    """A side no placed case reaches on one platform, with the model's stated reason or NO_REASON."""

    branch: str
    side: str
    platform: str
    reason: str


_BRANCH_FACTS = ("id", "stage", "decision", "source", "operators", "published", "bound", "platform_dependent")


@dataclass
class PathCoverage:
    """Which cases reach each side of each decision on each platform (conformance.path_coverage computes it; the
    plugin records it for the cases a run judged; reporting reads it). In JSON a side's case lists are indexes into
    `cases` (the ids once, not once per branch), with the counts beside them for readers that want only those."""

    revision: str = ""  # the source revision the decisions are taken at (sim/cann/revisions name)
    platforms: tuple = ()  # platform names, in the model's order
    branches: list = field(default_factory=list)  # of BranchReach (those present at the revision)
    cases: tuple = ()  # the ids of the cases placed on the paths, sorted
    error: str = ""  # the path model failed (then nothing is placed): why

    def sides(self):
        """(branch, side) for every side of every branch."""
        return [(b, s) for b in self.branches for s in b.sides]

    def unreached(self) -> list[Unreached]:
        return [Unreached(b.id, s.name, p, s.reason_on(p)) for b, s in self.sides() for p in self.platforms
                if not s.reached.get(p)]

    def without_reason(self) -> list[Unreached]:
        """The unreached sides whose model states no reason: a case should reach them."""
        return [u for u in self.unreached() if u.reason == NO_REASON]

    def counts(self) -> dict:
        return {"branches": len(self.branches), "sides": len(self.sides()), "cases": len(self.cases),
                "reached": {p: sum(bool(s.reached.get(p)) for _, s in self.sides()) for p in self.platforms},
                "unreached_without_reason": len(self.without_reason())}

    def totals_line(self) -> str:
        """'N branches, S sides, R reached on a2-24c, R' on a2-20c'."""
        c = self.counts()
        reached = ", ".join(f"{n} reached on {p}" if i == 0 else f"{n} on {p}"
                            for i, (p, n) in enumerate(c["reached"].items()))
        return f"{c['branches']} branches, {c['sides']} sides" + (f", {reached}" if reached else "")

    def reached_sides(self) -> dict:
        """(branch id, side, platform) -> cases reaching it (only those some case reaches)."""
        return {(b.id, s.name, p): len(s.reached[p]) for b, s in self.sides() for p in self.platforms
                if s.reached.get(p)}

    def to_dict(self, *, ids: bool = False) -> dict:
        """As summary.json and results.jsonl hold it; `ids`: each side's case ids spelled out, not indexes."""
        index = {cid: i for i, cid in enumerate(self.cases)}
        branches = [{**{k: getattr(b, k) for k in _BRANCH_FACTS}, "operators": list(b.operators),
                     "sides": [{"name": s.name, "condition": s.condition, "reason": s.reason,
                                "reason_platforms": list(s.reason_platforms),
                                "reached": {p: len(s.reached.get(p, ())) for p in self.platforms},
                                "cases": {p: (list(s.reached.get(p, ())) if ids
                                              else [index[c] for c in s.reached.get(p, ())])
                                          for p in self.platforms}}
                               for s in b.sides]}
                    for b in self.branches]
        d = {"revision": self.revision, "platforms": list(self.platforms), "counts": self.counts(),
             "totals": self.totals_line(), "unreached": [dataclasses.asdict(u) for u in self.unreached()],
             "branches": branches, "cases": list(self.cases)}
        if self.error:
            d["error"] = self.error
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> "PathCoverage | None":
        if not d:
            return None
        table = list(d.get("cases") or ())
        seen: set = set(table)

        def ids(xs) -> tuple:
            out = tuple(sorted(x if isinstance(x, str) else table[x] for x in xs))
            seen.update(out)
            return out

        branches = [BranchReach(**{k: b.get(k, "") for k in _BRANCH_FACTS if k in b},
                                sides=[SideReach(s["name"], s.get("condition", ""), s.get("reason", ""),
                                                 {p: ids(xs) for p, xs in (s.get("cases") or {}).items()},
                                                 tuple(s.get("reason_platforms") or ()))
                                       for s in b.get("sides") or ()])
                    for b in d.get("branches") or ()]
        for b in branches:
            b.operators = tuple(b.operators)
        return cls(d.get("revision", ""), tuple(d.get("platforms") or ()), branches, tuple(sorted(seen)),
                   d.get("error", ""))

    @classmethod
    def merge(cls, coverages) -> "PathCoverage | None":
        """Several nodes' coverages as one: the union of the cases reaching each side (None if none was recorded)."""
        coverages = [c for c in coverages if c is not None]
        if len(coverages) <= 1:
            return coverages[0] if coverages else None
        platforms = tuple(dict.fromkeys(p for c in coverages for p in c.platforms))
        branches: dict = {}
        for c in coverages:
            for b in c.branches:
                mine = branches.setdefault(b.id, dataclasses.replace(b, sides=[]))
                for s in b.sides:
                    side = next((x for x in mine.sides if x.name == s.name), None)
                    if side is None:
                        mine.sides.append(side := dataclasses.replace(s, reached={}))
                    for p, got in s.reached.items():
                        side.reached[p] = tuple(sorted(set(side.reached.get(p, ())) | set(got)))
        return cls("; ".join(dict.fromkeys(c.revision for c in coverages)), platforms, list(branches.values()),
                   tuple(sorted({i for c in coverages for i in c.cases})),
                   "; ".join(dict.fromkeys(c.error for c in coverages if c.error)))


# categories of a case the backend did not run: the run places it on no path (the integrator adds any other
# category of a case not run here)
NOT_RUN = (Category.UNSUPPORTED,)


def judged_case(t: "TestEntry") -> str | None:
    """The case id of a test whose case the run judged (not skipped, not unsupported); None otherwise."""
    if t.mc2 is None or not t.mc2.case_id or t.outcome == "skipped" or t.mc2.category in NOT_RUN:
        return None
    return t.mc2.case_id


def path_changes(old: PathCoverage | None, new: PathCoverage | None) -> dict:
    """The sides (branch, side, platform) `new` reaches and `old` does not, and the reverse, with case counts."""
    a = old.reached_sides() if old is not None else {}
    b = new.reached_sides() if new is not None else {}

    def rows(keys, counts_old, counts_new):
        return [{"branch": k[0], "side": k[1], "platform": k[2], "old": counts_old.get(k, 0),
                 "new": counts_new.get(k, 0)} for k in sorted(keys)]

    return {"recorded": [old is not None, new is not None],
            "newly_reached": rows(set(b) - set(a), a, b), "no_longer_reached": rows(set(a) - set(b), a, b)}


# ---- the file -------------------------------------------------------------------------------------------------------

@dataclass
class ResultsLog:
    """A results.jsonl read back: its run entry (None if it has none) and one entry per test (the worst of a
    test's setup and call lines)."""

    run: RunEntry | None
    tests: list

    @property
    def by_nodeid(self) -> dict:
        return {t.nodeid: t for t in self.tests}


def _json_line(entry: dict) -> str:
    return json.dumps(entry, default=str) + "\n"


def run_line(run: RunEntry) -> str:
    return _json_line({"run": run.to_dict()})


def append(path, item) -> None:
    """Append one entry: a RunEntry, a TestEntry, the path coverage of the judged cases, or the waiver findings
    (a list of lines)."""
    if isinstance(item, RunEntry):
        line = run_line(item)
    elif isinstance(item, TestEntry):
        line = _json_line(item.to_dict())
    elif isinstance(item, PathCoverage):
        line = _json_line({"paths": item.to_dict()})
    else:
        line = _json_line({"waiver_findings": list(item)})
    with open(path, "a") as f:
        f.write(line)


def read_log(path) -> ResultsLog:
    """Read a results.jsonl written by the plugin (also one with several sessions' lines, or no run entry)."""
    run, tests, findings, paths = None, {}, None, None
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if "run" in entry:
            run = RunEntry.from_dict(entry["run"])
        elif "waiver_findings" in entry:
            findings = list(entry["waiver_findings"])
        elif "paths" in entry:
            paths = PathCoverage.from_dict(entry["paths"])
        else:  # a setup error and a call result of one test: keep the worst
            prev = tests.get(entry["nodeid"])
            if prev is None or entry["outcome"] == "failed":
                tests[entry["nodeid"]] = TestEntry.from_dict(entry)
    if findings is not None:
        run = run or RunEntry()
        run.waiver_findings = findings
    if paths is not None:
        run = run or RunEntry()
        run.paths = paths
    return ResultsLog(run, list(tests.values()))


def first_failure(path) -> tuple[str | None, int]:
    """(node id of the first failed test line, number of test lines) of a results.jsonl, or (None, 0)."""
    first, count = None, 0
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            entry = json.loads(line) if line.strip() else {}
            if "nodeid" in entry:
                count += 1
                if entry["outcome"] == "failed" and first is None:
                    first = entry["nodeid"]
    return first, count


# ---- the summary ----------------------------------------------------------------------------------------------------

def _test_json(t: TestEntry) -> dict:
    return {"nodeid": t.nodeid, "outcome": t.outcome, "case_id": t.info.case_id, "category": t.category,
            "message": t.message or ""}


@dataclass
class Summary:
    """The verdict's facts (reporting.summary.summarise): everything the verdict page shows. summary.json is
    `to_json()`; `from_json` reads it back, and the page (reporting.page.build_page) renders a Summary only."""

    verdict: str
    verdict_reasons: list
    evidence: dict
    counts: dict
    constraints: dict  # constraint id -> {"passed": n, "failed": n, "skipped": n, "waived": n}
    accuracy: dict  # "op / dtype" -> output -> worst ratio, case, vendor metrics
    matrix: dict  # "constraint|world size|dtype" -> worst outcome
    matrix_catalogue: dict  # "constraint|world size|dtype" -> the smallest profile with a catalogue case there
    skips: list  # [(reason, tests)]
    rejections: dict
    deviations: list  # the known deviations with this run's matching cases
    precision: dict  # {"standard", "modes", "rows": {"op / dtype": {"level", ...}}}
    signed_off: dict
    failures: list  # of TestEntry
    waived: list  # of TestEntry
    mistrusted: list  # of TestEntry
    relations: list  # [[relation, held, did not hold, not evaluated]]
    waiver_findings: list
    environments: list = field(default_factory=list)  # [(node name or "", {key: value})]
    catalogue: CatalogueFacts = field(default_factory=CatalogueFacts)
    paths: PathCoverage | None = None  # the implementation paths the judged cases reach (None: not recorded)
    selfcheck: dict | None = None
    allure_built: bool = False
    diff: dict | None = None  # reporting.diff.summary_entry, with run --baseline
    # of TestEntry: cases the backend could not hold (Category.HARDWARE_ONLY), counted apart from every outcome
    not_run_here: list = field(default_factory=list)

    # -- mapping access: a summary unpacks like its summary.json fields ({**summary, "diff": ...}) ----------------
    def __getitem__(self, key: str):
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value) -> None:
        if key not in self.keys():
            raise KeyError(key)
        setattr(self, key, value)

    def __contains__(self, key) -> bool:
        return key in self.keys() and getattr(self, key) is not None

    def get(self, key: str, default=None):
        return getattr(self, key, default) if key in self.keys() else default

    def keys(self):
        return [f.name for f in dataclasses.fields(self)]

    @classmethod
    def coerce(cls, s) -> "Summary":
        """A Summary from a Summary or the dict of its fields (`{**summary, "diff": ...}`)."""
        return s if isinstance(s, Summary) else _summary_from_fields(s)

    # -- summary.json ----------------------------------------------------------------------------------------------
    def precision_levels(self) -> dict:
        """"operator / dtype" -> the precision standard's level (worst over its cases; None: not judged)."""
        return {k: r.get("level") for k, r in (self.precision.get("rows") or {}).items()}

    def chain(self) -> dict:
        """"operator / dtype" -> how the fused operator compared with its benchmark chain of separate operators
        (the precision standard's device/chain ratios, worst over the cases; cases compared and not, and why not)."""
        out = {}
        for k, r in (self.precision.get("rows") or {}).items():
            out[k] = {"cases_compared": r.get("judged", 0), "cases_not_compared": r.get("not_judged", 0),
                      "device_over_chain": r.get("ratios") or {}}
            if r.get("why_not"):
                out[k]["why_not"] = r["why_not"]
        return out

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict, "verdict_reasons": self.verdict_reasons, "evidence": self.evidence,
            "counts": self.counts, "mistrusted": len(self.mistrusted or ()), "signed_off": self.signed_off,
            "skips": [{"reason": r, "tests": n} for r, n in self.skips],
            "environments": dict(self.environments), "selfcheck": selfcheck_line(self.selfcheck),
            "constraints": self.constraints,
            "paths": self.paths.to_dict() if self.paths is not None else None,
            # everything else the verdict page shows
            "precision": self.precision, "precision_levels": self.precision_levels(), "chain": self.chain(),
            "accuracy": self.accuracy, "matrix": self.matrix, "matrix_catalogue": self.matrix_catalogue,
            "rejections": self.rejections, "deviations": self.deviations, "relations": self.relations,
            "failures": [_test_json(t) for t in self.failures], "waived": [_test_json(t) for t in self.waived],
            "mistrusted_tests": [{**_test_json(t), "why": t.info.mistrusted or ""} for t in self.mistrusted],
            "waiver_findings": self.waiver_findings,
            "environment_nodes": [{"name": n, "environment": e} for n, e in self.environments],
            "catalogue": self.catalogue.to_dict(), "selfcheck_result": self.selfcheck,
            "allure_built": self.allure_built, "diff": self.diff,
            "not_run_here": [{**_test_json(t), "reason": t.skip_reason()} for t in self.not_run_here or ()]}

    @classmethod
    def from_json(cls, d: dict) -> "Summary":
        def entry(x: dict, **mc2) -> TestEntry:
            return TestEntry(x["nodeid"], x["outcome"], message=x.get("message") or None,
                             mc2=CaseRecord(case_id=x.get("case_id") or "", category=x.get("category") or "", **mc2))

        diff = d.get("diff")
        if diff:
            diff = {**diff, "status": [tuple(x) for x in diff.get("status") or ()]}
        return cls(
            verdict=d["verdict"], verdict_reasons=d["verdict_reasons"], evidence=d["evidence"], counts=d["counts"],
            constraints=d["constraints"], accuracy=d["accuracy"], matrix=d["matrix"],
            matrix_catalogue=d["matrix_catalogue"], skips=[(s["reason"], s["tests"]) for s in d["skips"]],
            rejections=d["rejections"], deviations=d["deviations"], precision=d["precision"],
            signed_off=d["signed_off"], paths=PathCoverage.from_dict(d.get("paths")),
            failures=[entry(x) for x in d["failures"]],
            waived=[entry(x) for x in d["waived"]],
            mistrusted=[entry(x, mistrusted=x.get("why", "")) for x in d["mistrusted_tests"]],
            relations=d["relations"], waiver_findings=d["waiver_findings"],
            environments=[(n["name"], n["environment"]) for n in d["environment_nodes"]],
            catalogue=CatalogueFacts.from_dict(d["catalogue"]), selfcheck=d.get("selfcheck_result"),
            allure_built=bool(d.get("allure_built")), diff=diff,
            not_run_here=[entry({**x, "message": x.get("reason")}) for x in d.get("not_run_here") or ()])

    def write_json(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1, default=str))

    @classmethod
    def read_json(cls, path) -> "Summary":
        return cls.from_json(json.loads(Path(path).read_text()))


def _summary_from_fields(d: dict) -> Summary:
    names = {f.name for f in dataclasses.fields(Summary)}
    return Summary(**{k: v for k, v in d.items() if k in names})


def precision_levels(summary_json: dict) -> dict:
    """"operator / dtype" -> level, from a summary.json's content (what a CI system reads)."""
    return dict(summary_json.get("precision_levels") or {})


def selfcheck_line(sc: dict | None) -> str:
    if not sc:
        return "self-check: not run (mc2-conformance selfcheck)"
    return (f"self-check: {sc['killed']}/{sc['total']} simulator faults killed ({sc['score']:.0%}), clean simulator "
            f"{'passes' if sc['clean']['passed'] else 'FAILS'} (profile {sc['profile']})")

