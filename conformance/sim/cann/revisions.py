"""The published source revisions sim-cann models, and what changed in the host path between them.

Every revision is a head the vendor published: the baseline c29bc10 (hicann/ops-transformer, 2025-11-15), every
release branch that names a CANN version, and master, read in the mirror mirror-cann/ops-transformer (the same
commit hashes, newer history). `--sim-cann-revision NAME` selects one (default: the newest modelled, `DEFAULT`).

What a revision is made of, as data:
- where each host rule sits at that revision (conformance/data/sim_cann_locations.json: path:line of the rule's
  condition at the revision's head, and "unchanged" / "changed" / "removed"), so every citation names its revision;
- the behaviour changes (`CHANGES`): each a named switch of the host model, the rules it changes, the
  revisions that carry it and the new check's location. Where a rule changed, both behaviours stay modelled and
  the revision decides which one runs; nothing is silently replaced.
- the host checks a revision added that no input of this API reaches (`NEW_RULES`), listed with the reason.

Per operator: an operator's own reading may live in its own files, so adding one touches only its modules. Its
locations in conformance/data/sim_cann_locations/<short>.json (the same {"rules": ..., "new_rules": ...} structure,
merged with the shared file), and its behaviour changes and new rules as `CHANGES` / `NEW_RULES` in its host model's
module (the record's `host_model`), merged into this module's `CHANGES` / `NEW_RULES` (discovered through
operators.all_operators(): `host_modules`, which drift reads its rules through too).

The runtime the host path runs in is hicann/opbase@aa3cd74 for every revision (its master head at the time of
reading; the newer revisions were built against it or older), and the generator mirror-cann/asc-devkit@78d7801.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "data" / "sim_cann_locations.json"
OPERATOR_DATA = DATA.with_suffix("")  # conformance/data/sim_cann_locations/<short>.json: one operator's reading
BASE_REPO = "hicann/ops-transformer"
MIRROR_REPO = "mirror-cann/ops-transformer"


class UnknownRevision(ValueError):
    """A revision name sim-cann does not model (one line, naming the modelled ones)."""


@dataclass(frozen=True)
class SourceRevision:
    name: str  # "c29bc10", "8.5.0", ..., "master": the release branch it heads (or the baseline / master)
    commit: str
    date: str
    cann_version: str  # the CANN version the branch names ("" for the baseline and master)
    repo: str

    @property
    def short(self) -> str:
        return self.commit[:7]

    @property
    def label(self) -> str:
        what = f"CANN {self.cann_version} branch head" if self.cann_version else (
            "baseline" if self.name == "c29bc10" else "master head")
        return f"{self.repo}@{self.short} ({self.name}, {self.date}, {what})"


@dataclass(frozen=True)
class BehaviourChange:
    """A change of the host path's behaviour on inputs this API can pass, from the revisions in `since` on."""

    id: str  # a switch name the host model tests (conformance/sim/cann/v3_host.py)
    operator: str  # the operator's short name ("v3", "marn")
    rules: tuple[str, ...]  # the host rules it changes ("" entries: a new rule, see `new_rule`)
    summary: str  # what changed, in English
    revisions: tuple[str, ...]  # the modelled revisions that carry it
    new_rule: str = ""  # the NEW_RULES id of a check it adds, if any


def _operators():
    from ... import operators  # late: the records load the host modules, which import this module
    return operators.all_operators()


@lru_cache(maxsize=1)
def _data() -> dict:
    """The shared file merged with every registered operator's own file (a rule located twice is an error)."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    for short in dict.fromkeys(op.short for op in _operators()):
        path = OPERATOR_DATA / f"{short}.json"
        if not path.exists():
            continue
        own = json.loads(path.read_text(encoding="utf-8"))
        for key in ("rules", "new_rules"):
            twice = set(own.get(key, {})) & set(data[key])
            if twice:
                raise RuntimeError(f"{path.name}: {key} {sorted(twice)} are located in another file as well")
            data[key].update(own.get(key, {}))
    return data


def _cann_version(name: str) -> str:
    return name if name[:1].isdigit() else ""


@lru_cache(maxsize=1)
def revisions() -> tuple[SourceRevision, ...]:
    """The modelled revisions, oldest first (the baseline, then the release-branch heads by version, then master)."""
    return tuple(SourceRevision(r["name"], r["commit"], r["date"], _cann_version(r["name"]),
                                BASE_REPO if r["name"] == "c29bc10" else MIRROR_REPO) for r in _data()["revisions"])


BASELINE = "c29bc10"
DEFAULT = "master"  # the newest modelled


def names() -> tuple[str, ...]:
    return tuple(r.name for r in revisions())


def get(name: str | None) -> SourceRevision:
    """The revision `name` (a name or a commit prefix of 7+ characters; None: DEFAULT)."""
    name = name or DEFAULT
    for r in revisions():
        if name == r.name or (len(name) >= 7 and r.commit.startswith(name)):
            return r
    raise UnknownRevision(f"unknown sim-cann source revision {name!r}; modelled: {', '.join(names())}")


_FIX_REVISIONS = ("9.0.0", "9.1.0-beta.2", "9.1.0-beta.3", "9.1.0", "master")
# the revisions that check x2's contiguity and make the other inputs contiguous (V3's and MAR's host paths alike)
CONTIGUITY_REVISIONS = ("9.0.0", "9.1.0-beta.1", "9.1.0-beta.2", "9.1.0-beta.3", "9.1.0", "master")

# the switches, as read from the revisions' source (rules-v3 of the reading; locations in the data file)
V3_X2_CONTIGUITY_CHECKED = "v3-x2-contiguity-checked"
V3_INPUTS_MADE_CONTIGUOUS = "v3-inputs-made-contiguous"
V3_COMM_SCALE1_OWN_SHAPE = "v3-comm-scale1-own-shape"
V3_X2_FIRST_DIM_BOUNDED = "v3-x2-first-dim-bounded"
V3_PER_TENSOR_SCALE_EXACT = "v3-per-tensor-scale-exact"

_SHARED_CHANGES: tuple[BehaviourChange, ...] = (
    BehaviourChange(V3_X2_CONTIGUITY_CHECKED, "v3", (),
                    "GetWorkspaceSize rejects (161002) an x2 that is neither contiguous nor the last-two-axes "
                    "transpose, for non-empty inputs, after the shape checks (also for a 4-D NZ x2); before, a "
                    "strided x2 was accepted and read as if contiguous (DEV-V3-004)",
                    CONTIGUITY_REVISIONS, new_rule="NEW-V3-X2-CONTIGUOUS"),
    BehaviourChange(V3_INPUTS_MADE_CONTIGUOUS, "v3", ("CANN-V3-H37",),
                    "x1, bias, x3, dequantScale, pertokenScale and both comm scales are declared auto-contiguous for "
                    "Ascend910B: the runtime copies a non-contiguous input to a contiguous one and the call succeeds "
                    "with the documented result; before, the launch failed (561000)", CONTIGUITY_REVISIONS),
    BehaviourChange(V3_COMM_SCALE1_OWN_SHAPE, "v3", ("CANN-V3-H23", "CANN-V3-H36"),
                    "commQuantScale1's shape (and emptiness) is read from commQuantScale1 itself; before, both "
                    "dims were read from commQuantScale2, so a wrong commQuantScale1 shape passed", _FIX_REVISIONS),
    BehaviourChange(V3_X2_FIRST_DIM_BOUNDED, "v3", ("CANN-V3-H35",),
                    "tiling bounds x2's first dim by INT32_MAX and its last by 65535; before, the last dim was tested "
                    "twice (verdicts on the catalogue's inputs unchanged: untransposed n = 65536 is still 561002)",
                    _FIX_REVISIONS),
    BehaviourChange(V3_PER_TENSOR_SCALE_EXACT, "v3", ("CANN-V3-H28",),
                    "tiling requires a per-tensor dequantScale to be exactly (1); before, any one-element shape "
                    "passed (reachable only with a 4-D NZ x2, whose host shape checks are skipped)",
                    ("9.1.0-beta.2", "9.1.0", "master")),
)

# Checks a revision added that no input of this API reaches, or whose verdict an earlier rule already gives.
_SHARED_NEW_RULES: dict[str, str] = {
    "NEW-MARN-YDTYPE": "tiling: the matmul output's dtype must be float16/bfloat16; unreachable (the kernel lookup, "
                       "CANN-MARN-H09, rejects other dtypes first)",
    "NEW-V3-YDTYPE": "tiling: the output dtype must be float16/bfloat16; unreachable (CANN-V3-H04 rejects first)",
    "NEW-MARN-A16W16-BIAS": "tiling: bias rank and length, checked before the others; same verdict as "
                            "CANN-MARN-H13/H14 (561002), only earlier",
    "NEW-MARN-COMMMODE": "tiling: the comm_mode attribute must be null or ai_cpu; unreachable (this operator's node "
                         "has no such attribute, read as null)",
    "NEW-V3-COMMMODE": "tiling: the comm_mode attribute must be null or ai_cpu; unreachable (V3 always passes ai_cpu)",
    "NEW-V3-X2-CONTIGUOUS": "GetWorkspaceSize: x2 contiguous or the last-two-axes transpose, unless an input is "
                            "empty (161002); modelled (V3_X2_CONTIGUITY_CHECKED)",
}


def host_modules():
    """Every registered operator's host-model module, once (twins and V1 share theirs)."""
    import importlib
    paths = dict.fromkeys(op.host_model.path.partition(":")[0] for op in _operators() if op.host_model)
    return [importlib.import_module(p) for p in paths]


@lru_cache(maxsize=1)
def _merged() -> tuple[tuple[BehaviourChange, ...], dict[str, BehaviourChange], dict[str, str]]:
    changes, new_rules = list(_SHARED_CHANGES), dict(_SHARED_NEW_RULES)
    for module in host_modules():
        changes += getattr(module, "CHANGES", ())
        new_rules.update(getattr(module, "NEW_RULES", {}))
    by_id = {c.id: c for c in changes}
    if len(by_id) != len(changes):
        raise RuntimeError("two behaviour changes share an id")
    return tuple(changes), by_id, new_rules


def __getattr__(name: str):
    """CHANGES (every behaviour change: the shared ones above, then each host module's own), BY_ID (them by id) and
    NEW_RULES (likewise), merged on first use: the host modules import this module."""
    if name in ("CHANGES", "BY_ID", "NEW_RULES"):
        return _merged()[("CHANGES", "BY_ID", "NEW_RULES").index(name)]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def has(revision: str | SourceRevision | None, change: str) -> bool:
    """Whether `revision` carries behaviour change `change` (a CHANGES id)."""
    name = revision.name if isinstance(revision, SourceRevision) else get(revision).name
    return name in _merged()[1][change].revisions


def location(rule: str, revision: str | SourceRevision | None) -> tuple[str, str]:
    """(status, "path:line") of host rule `rule` at `revision`: status "baseline" (c29bc10), "unchanged",
    "changed" or "removed" as read; ("", "") where the reading has no entry."""
    name = revision.name if isinstance(revision, SourceRevision) else get(revision).name
    status, where = _data()["rules"].get(rule, {}).get(name, ("", ""))
    return status, where


def new_rule_location(rule: str, revision: str | SourceRevision | None) -> str:
    name = revision.name if isinstance(revision, SourceRevision) else get(revision).name
    return _data()["new_rules"].get(rule, {}).get(name, "")


def cite(rule: str, revision: str | SourceRevision | None, baseline_source: str) -> str:
    """The citation of a host rule at `revision`: its path:line there in the revision's repository, or the baseline
    record's own citation at the baseline (runtime rules keep their runtime citation)."""
    rev = revision if isinstance(revision, SourceRevision) else get(revision)
    if rev.name == BASELINE:
        return baseline_source
    status, where = location(rule, rev)
    if not where or baseline_source.startswith(("hicann/opbase", "mirror-cann/asc-devkit")):
        return baseline_source
    return f"{rev.repo}@{rev.short} {where}" + (" (removed here)" if status == "removed" else "")
