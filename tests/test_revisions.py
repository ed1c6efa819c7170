"""Document revisions and drift (conformance.spec.revisions): selection, overrides and the quotes' evidence."""

from __future__ import annotations

import dataclasses
import os
import subprocess

import pytest

from conformance.spec import BY_ID, CONSTRAINTS, constraints_for
from conformance.spec import revisions as R
from conformance.spec.marn import ELIDED
from conformance.spec.model import CODE_FROM_CONVENTION, CODE_FROM_DOCUMENT, Constraint
from helpers import shared_doc, shared_docs, spec_modules

# bare mirrors of the vendor repository (same commit hashes): mirror-cann/ops-transformer holds the newer history,
# so it can show every revision; hicann/ops-transformer only those up to c29bc10
MIRRORS = {R.MIRROR_REPO: ("/work/.mirror/mirror-cann+ops-transformer/repo",),
           R.REPO: ("/work/.mirror/hicann+ops-transformer/repo", "/work/.mirror/mirror-cann+ops-transformer/repo")}
NEWEST = {doc: R.LATEST[doc] for doc in R.DOCS}
FIELDS = {f.name for f in dataclasses.fields(Constraint)} - {"id", "revision"}
INTRODUCED = {c.id: c for ch in R.CHANGES for c in ch.introduces}
# records quoted from one vendor revision (their spec module's SOURCE; tests/test_spec_quotes.py), not from a
# document whose revisions spec.revisions tracks: no revision applies to them
PINNED = {c.id for m in spec_modules() if getattr(m, "SOURCE", None) for c in m.CONSTRAINTS}


def mirror_of(repo: str) -> str | None:
    return next((p for p in MIRRORS[repo] if os.path.isdir(p)), None)


def repo_text(doc: str, rid: str) -> str:
    """The repository revision's files of `doc`, links rendered as text (read from the mirror, never stored)."""
    repo, rest = R.revision(doc, rid).where.split("@", 1)
    rev, paths = rest.split(" ", 1)
    out = []
    for path in paths.split(" + "):
        done = subprocess.run(["git", "-C", mirror_of(repo), "show", f"{rev}:{path}"], capture_output=True,
                              text=True, check=True)
        out.append(done.stdout)
    return R.rendered("\n".join(out))


def text_of(doc: str, rid: str) -> str:
    return shared_doc(doc) if rid.startswith("shared-") else repo_text(doc, rid)


def test_default_sets_the_shared_revision_and_leaves_every_record_otherwise_unchanged():
    applied = R.apply_revision(CONSTRAINTS, {})
    assert len(applied) == len(CONSTRAINTS)
    for before, after in zip(CONSTRAINTS, applied):
        if before.id in PINNED:
            assert after == before
            continue
        assert after.revision == R.DEFAULT[R.doc_of(before)]
        assert after.revision.startswith("shared-")
        assert dataclasses.replace(after, revision=before.revision) == before
    assert R.apply_revision(CONSTRAINTS, None) == applied


def test_newest_revision_applies_each_override():
    applied = {c.id: c for c in R.apply_revision(CONSTRAINTS, NEWEST)}
    assert set(applied) == set(BY_ID) | set(INTRODUCED)
    expected: dict[str, dict[str, object]] = {}
    for ch in R.CHANGES:  # oldest first, the later change wins
        for cid, pairs in ch.override:
            expected.setdefault(cid, {}).update(pairs)
    assert expected, "no override recorded"
    for cid, fields in expected.items():
        for name, value in fields.items():
            assert getattr(applied[cid], name) == value, (cid, name)
    for c in applied.values():
        if c.id in PINNED:
            assert c == BY_ID[c.id]
            continue
        assert c.revision == NEWEST[R.doc_of(c)]
        if c.id in INTRODUCED:
            assert dataclasses.replace(c, revision="", **expected.get(c.id, {})) == dataclasses.replace(
                INTRODUCED[c.id], **expected.get(c.id, {}))
        elif c.id not in expected:
            assert dataclasses.replace(c, revision="") == dataclasses.replace(BY_ID[c.id], revision="")


def test_return_code_table_makes_marn_codes_document_sourced_only_from_the_repository():
    marn_new = R.revision_ids_for("aclnnMatmulAllReduceAddRmsNorm.md=repo-b122ed2")
    old = {c.id: c for c in R.apply_revision(CONSTRAINTS, {})}
    new = {c.id: c for c in R.apply_revision(CONSTRAINTS, marn_new)}
    for cid, code in (("MARN-NULL-001", 161001), ("MARN-SHAPE-001", 161002), ("MARN-ATTR-003", 161002)):
        assert old[cid].code_source == CODE_FROM_CONVENTION and old[cid].promised_codes("documented") is None
        assert new[cid].code_source == CODE_FROM_DOCUMENT and new[cid].expected_status == code
        assert new[cid].promised_codes("documented") == frozenset({code})
        assert new[cid].revision == "repo-b122ed2"
    # not listed by the table (gamma shape, null outputs) or by one of the two files (k = 0): convention stays
    for cid in ("MARN-SHAPE-008", "MARN-NULL-002", "MARN-EMPTY-003", "MARN-DTYPE-001"):
        assert new[cid].code_source == CODE_FROM_CONVENTION
    assert new["MARN-ATTR-004"].original == "epsilon取值满足取值范围(0,1)。"
    assert "默认值" in old["MARN-ATTR-004"].original
    # the other document stays at its default
    assert new["V3-ATTR-001"].revision == "shared-8.0.RC2" and new["V3-ATTR-001"] == old["V3-ATTR-001"]


def test_overrides_accumulate_up_to_the_chosen_revision_only():
    v3 = R.V3_DOC
    before = {c.id: c for c in R.apply_revision(CONSTRAINTS, {v3: "repo-d127892"})}
    after = {c.id: c for c in R.apply_revision(CONSTRAINTS, {v3: "repo-6c485f2"})}
    assert before["V3-NUM-001"].original == BY_ID["V3-NUM-001"].original  # the three-case rewrite comes later
    assert after["V3-NUM-001"].original.startswith("output= allReduce(")
    assert before["V3-SHAPE-009"].original == after["V3-SHAPE-009"].original == "output的维数与x1一致。"


@pytest.mark.parametrize("ids", [{R.MARN_DOC: "repo-nope"}, {R.V3_DOC: "shared-9.9"}, {"other.md": "repo-b122ed2"}])
def test_unknown_revision_or_document_is_a_one_line_error_naming_the_known_ids(ids):
    with pytest.raises(ValueError) as err:
        R.apply_revision(CONSTRAINTS, ids)
    msg = str(err.value)
    assert "\n" not in msg
    if "other.md" not in ids:
        doc = next(iter(ids))
        assert all(r.id in msg for r in R.revisions_of(doc))
    else:
        assert all(doc in msg for doc in R.DOCS)


def test_revision_ids_for_parses_cli_values():
    assert R.revision_ids_for("repo-c29bc10") == {R.MARN_DOC: "repo-c29bc10", R.V3_DOC: "repo-c29bc10"}
    assert R.revision_ids_for("latest") == NEWEST == {R.MARN_DOC: "repo-cd2d647", R.V3_DOC: "repo-7f36925"}
    assert R.revision_ids_for("repo-8c34a87") == {R.V3_DOC: "repo-8c34a87"}
    assert R.revision_ids_for("repo-6c485f2") == {R.V3_DOC: "repo-6c485f2"}
    assert R.revision_ids_for(f"{R.MARN_DOC}=repo-a278852, {R.V3_DOC}=shared-8.0.RC2") == {
        R.MARN_DOC: "repo-a278852", R.V3_DOC: "shared-8.0.RC2"}
    with pytest.raises(ValueError, match="repo-c29bc10.*"):
        R.revision_ids_for("repo-0000000")
    with pytest.raises(ValueError, match="latest"):
        R.revision_ids_for("repo-0000000")


def test_drift_lines_list_every_change():
    lines = R.drift_lines()
    text = "\n".join(lines)
    assert lines
    for ch in R.CHANGES:
        assert ch.id in text
    marn_only = "\n".join(R.drift_lines(R.MARN_DOC))
    assert "DRIFT-MARN-001" in marn_only and "DRIFT-V3-001" not in marn_only
    with pytest.raises(ValueError):
        R.drift_lines("other.md")


def test_catalogue_shape_of_revisions_and_changes():
    for doc in R.DOCS:
        revs = R.revisions_of(doc)
        assert revs[0].id == R.DEFAULT[doc] and revs[0].id.startswith("shared-")
        assert len({r.id for r in revs}) == len(revs)
        assert R.LATEST[doc] == revs[-1].id
    ids = [ch.id for ch in R.CHANGES]
    assert len(set(ids)) == len(ids)
    for ch in R.CHANGES:
        assert ch.kind in R.CHANGE_KINDS
        assert R._order(ch.doc, ch.from_revision) < R._order(ch.doc, ch.to_revision)
        assert ch.old_quote or ch.new_quote
        assert ch.kind != "added" or not ch.old_quote or ch.new_quote
        known = {**BY_ID, **INTRODUCED}
        for cid in ch.constraints:
            assert cid in known, (ch.id, cid)
            assert R.doc_of(known[cid]) == ch.doc, (ch.id, cid)
        for cid, pairs in ch.override:
            assert cid in known and cid in ch.constraints, (ch.id, cid)
            assert {name for name, _ in pairs} <= FIELDS, (ch.id, pairs)
            if cid in INTRODUCED:  # a later revision's record changes only from its own revision on
                assert R._order(ch.doc, INTRODUCED[cid].since) < R._order(ch.doc, ch.to_revision), (ch.id, cid)
        for c in ch.introduces:
            assert c.id not in BY_ID and c.id in ch.constraints and c.since == ch.to_revision, (ch.id, c.id)
            assert R.doc_of(c) == ch.doc and c.setting, (ch.id, c.id)
    assert len(INTRODUCED) == sum(len(ch.introduces) for ch in R.CHANGES)
    for c in CONSTRAINTS:  # every record has its revisions tracked or is pinned to one vendor revision
        assert (R.doc_of(c) in R.DOCS) != (c.id in PINNED), c.id


def test_old_quotes_from_the_shared_copies_are_verbatim():
    quoted = [ch for ch in R.CHANGES if ch.old_quote and ch.from_revision.startswith("shared-")]
    assert quoted, "no change quotes a shared copy"
    texts = shared_docs(*sorted({ch.doc for ch in quoted}))
    for ch in quoted:
        assert ch.old_quote in texts[ch.doc], (ch.id, ch.old_quote)


needs_mirror = pytest.mark.skipif(not all(mirror_of(repo) for repo in MIRRORS),
                                  reason="vendor repository mirror absent (CI)")


@needs_mirror
def test_repository_quotes_are_verbatim_in_their_revisions():
    for ch in R.CHANGES:
        if ch.new_quote:
            assert ch.new_quote in text_of(ch.doc, ch.to_revision), (ch.id, ch.new_quote)
        if ch.old_quote and not ch.from_revision.startswith("shared-"):
            assert ch.old_quote in text_of(ch.doc, ch.from_revision), (ch.id, ch.old_quote)
        if ch.kind == "removed" and ch.old_quote:
            assert ch.old_quote not in text_of(ch.doc, ch.to_revision), ch.id


def _in_effect(doc: str, cid: str, name: str, value) -> list[str]:
    """The revisions of `doc` whose catalogue gives record `cid` field `name` = `value` (the revisions a quote
    must be verbatim in)."""
    out = []
    for r in R.revisions_of(doc):
        rec = constraints_for(f"{doc}={r.id}").get(cid)
        if rec is not None and getattr(rec, name) == value:
            out.append(r.id)
    return out


@needs_mirror
def test_later_records_and_their_overrides_quote_every_revision_they_hold_for():
    """A record a later revision introduces, and each override of a later revision, quotes the document verbatim
    (excerpts joined by ELIDED) in every revision whose catalogue carries that text."""
    later = {r.id for r in R.REVISIONS if r.where.startswith(R.MIRROR_REPO + "@")}
    quoted = [(ch.doc, c.id, c.original) for ch in R.CHANGES for c in ch.introduces]
    quoted += [(ch.doc, cid, dict(pairs)["original"]) for ch in R.CHANGES if ch.to_revision in later
               for cid, pairs in ch.override if "original" in dict(pairs)]
    assert len(quoted) >= 6
    for doc, cid, original in quoted:
        revs = _in_effect(doc, cid, "original", original)
        assert revs, (cid, original)
        for rid in revs:
            text = text_of(doc, rid)
            for part in original.split(ELIDED):
                assert part in text, (cid, rid, part)


def test_later_promises_appear_only_from_their_revision_and_never_by_default():
    for cid, rec in INTRODUCED.items():
        doc = R.doc_of(rec)
        assert cid not in {c.id for c in CONSTRAINTS} and cid not in constraints_for(None)
        for r in R.revisions_of(doc):
            present = cid in constraints_for(f"{doc}={r.id}")
            assert present == (R._order(doc, r.id) >= R._order(doc, rec.since)), (cid, r.id)
    newest = constraints_for("latest")
    assert newest["MARN-DET-001"].setting == newest["V3-DET-001"].setting == "HCCL_DETERMINISTIC=true"
    assert newest["MARN-DET-001"].ops == ("MatmulAllReduceAddRmsNorm", "InplaceMatmulAllReduceAddRmsNorm")
    era_8_5 = constraints_for("repo-f33d3ce")  # the wording of release branch 8.5.0: a runtime call
    assert era_8_5["V3-DET-001"].setting.startswith("aclrtCtxSetSysParamOpt")
    assert era_8_5["MARN-DET-001"].revision == "repo-f33d3ce"
    # going back to an older revision removes the record again
    assert "V3-DET-001" not in {c.id for c in R.apply_revision(tuple(newest.values()), {})}


def test_setting_holds_only_for_the_named_environment_value():
    newest = constraints_for("latest")["V3-DET-001"]
    assert newest.setting_holds({"HCCL_DETERMINISTIC": "true"}) is True
    assert newest.setting_holds({"HCCL_DETERMINISTIC": "TRUE"}) is True
    assert newest.setting_holds({"HCCL_DETERMINISTIC": "false"}) is False
    assert newest.setting_holds({}) is False
    runtime = constraints_for("repo-f33d3ce")["V3-DET-001"]
    assert runtime.setting_holds({"HCCL_DETERMINISTIC": "true"}) is None  # a runtime call the suite cannot see


def test_the_deprecation_notice_is_stated_only_from_its_revision():
    assert R.notices() == [] and R.notices(R.revision_ids_for("repo-a9b638f")) == []
    for spec in ("latest", "repo-3cce47f", f"{R.MARN_DOC}=repo-cd2d647"):
        (line,) = R.notices(R.revision_ids_for(spec))
        assert "aclnnMatmulAllReduceAddRmsNorm" in line and "deprecated" in line and "DRIFT-MARN-040" in line
        assert "须知：该接口后续版本会废弃" in line and "mirror-cann/ops-transformer@3cce47f" in line
    assert R.notices(R.revision_ids_for(f"{R.V3_DOC}=repo-7f36925")) == []
