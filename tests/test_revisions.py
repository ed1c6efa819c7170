"""Document revisions and drift (conformance.spec.revisions): selection, overrides and the quotes' evidence."""

from __future__ import annotations

import dataclasses
import os
import subprocess

import pytest

from conformance.spec import BY_ID, CONSTRAINTS
from conformance.spec import revisions as R
from conformance.spec.model import CODE_FROM_CONVENTION, CODE_FROM_DOCUMENT, Constraint
from helpers import shared_doc, shared_docs

MIRROR = "/work/.mirror/hicann+ops-transformer/repo"
NEWEST = {doc: R.LATEST[doc] for doc in R.DOCS}
FIELDS = {f.name for f in dataclasses.fields(Constraint)} - {"id", "revision"}


def repo_text(doc: str, rid: str) -> str:
    """The repository revision's files of `doc`, links rendered as text (read from the mirror, never stored)."""
    rev, paths = R.revision(doc, rid).where.split("@", 1)[1].split(" ", 1)
    out = []
    for path in paths.split(" + "):
        done = subprocess.run(["git", "-C", MIRROR, "show", f"{rev}:{path}"], capture_output=True, text=True,
                              check=True)
        out.append(done.stdout)
    return R.rendered("\n".join(out))


def text_of(doc: str, rid: str) -> str:
    return shared_doc(doc) if rid.startswith("shared-") else repo_text(doc, rid)


def test_default_sets_the_shared_revision_and_leaves_every_record_otherwise_unchanged():
    applied = R.apply_revision(CONSTRAINTS, {})
    assert len(applied) == len(CONSTRAINTS)
    for before, after in zip(CONSTRAINTS, applied):
        assert after.revision == R.DEFAULT[R.doc_of(before)]
        assert after.revision.startswith("shared-")
        assert dataclasses.replace(after, revision=before.revision) == before
    assert R.apply_revision(CONSTRAINTS, None) == applied


def test_newest_revision_applies_each_override():
    applied = {c.id: c for c in R.apply_revision(CONSTRAINTS, NEWEST)}
    expected: dict[str, dict[str, object]] = {}
    for ch in R.CHANGES:  # oldest first, the later change wins
        for cid, pairs in ch.override:
            expected.setdefault(cid, {}).update(pairs)
    assert expected, "no override recorded"
    for cid, fields in expected.items():
        for name, value in fields.items():
            assert getattr(applied[cid], name) == value, (cid, name)
    for c in applied.values():
        assert c.revision == NEWEST[R.doc_of(c)]
        if c.id not in expected:
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
    assert R.revision_ids_for("repo-6c485f2") == {R.V3_DOC: "repo-6c485f2"}
    assert R.revision_ids_for(f"{R.MARN_DOC}=repo-a278852, {R.V3_DOC}=shared-8.0.RC2") == {
        R.MARN_DOC: "repo-a278852", R.V3_DOC: "shared-8.0.RC2"}
    with pytest.raises(ValueError, match="repo-c29bc10"):
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
        for cid in ch.constraints:
            assert cid in BY_ID, (ch.id, cid)
            assert R.doc_of(BY_ID[cid]) == ch.doc, (ch.id, cid)
        for cid, pairs in ch.override:
            assert cid in BY_ID and cid in ch.constraints, (ch.id, cid)
            assert {name for name, _ in pairs} <= FIELDS, (ch.id, pairs)
    for c in CONSTRAINTS:
        assert R.doc_of(c) in R.DOCS, c.id


def test_old_quotes_from_the_shared_copies_are_verbatim():
    quoted = [ch for ch in R.CHANGES if ch.old_quote and ch.from_revision.startswith("shared-")]
    assert quoted, "no change quotes a shared copy"
    texts = shared_docs(*sorted({ch.doc for ch in quoted}))
    for ch in quoted:
        assert ch.old_quote in texts[ch.doc], (ch.id, ch.old_quote)


@pytest.mark.skipif(not os.path.isdir(MIRROR), reason="vendor repository mirror absent (CI)")
def test_repository_quotes_are_verbatim_in_their_revisions():
    for ch in R.CHANGES:
        if ch.new_quote:
            assert ch.new_quote in text_of(ch.doc, ch.to_revision), (ch.id, ch.new_quote)
        if ch.old_quote and not ch.from_revision.startswith("shared-"):
            assert ch.old_quote in text_of(ch.doc, ch.from_revision), (ch.id, ch.old_quote)
        if ch.kind == "removed" and ch.old_quote:
            assert ch.old_quote not in text_of(ch.doc, ch.to_revision), ch.id
