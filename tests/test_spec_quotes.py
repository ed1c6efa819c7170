"""Every `original` of the catalogue is text of its document, verbatim up to whitespace.

An original may join excerpts from different places of the document with " … " (the spec modules' ELIDED);
each excerpt must appear in the document. Where no sentence of the document states a record, its original is
empty and its notes begin with "paraphrase only:", saying what the record is implied by.
"""

import re

import pytest

from conformance.spec import marn, v3
from helpers import shared_doc

MODULES = (marn, v3)
RECORDS = [(mod, c) for mod in MODULES for c in mod.CONSTRAINTS]


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _document(mod) -> str:
    return _norm(shared_doc(mod.DOC))


@pytest.mark.parametrize("mod,c", RECORDS, ids=[c.id for _, c in RECORDS])
def test_original_is_verbatim_document_text_or_marked_paraphrase(mod, c):
    if not c.original:
        assert c.notes.startswith(mod.PARAPHRASE_ONLY), (
            f"{c.id}: an empty original needs notes beginning {mod.PARAPHRASE_ONLY!r} saying what implies it")
        return
    assert not c.notes.startswith(mod.PARAPHRASE_ONLY), f"{c.id}: marked paraphrase only but quotes {c.original!r}"
    doc = _document(mod)
    for excerpt in c.original.split(mod.ELIDED):
        assert excerpt.strip(), f"{c.id}: empty excerpt in {c.original!r}"
        assert _norm(excerpt) in doc, f"{c.id}: {excerpt!r} is not in {mod.DOC}"


def test_the_elision_mark_is_the_same_in_both_modules():
    assert marn.ELIDED == v3.ELIDED and marn.PARAPHRASE_ONLY == v3.PARAPHRASE_ONLY


def test_a_missing_document_skips_with_one_line_naming_it():
    with pytest.raises(pytest.skip.Exception) as skipped:
        shared_doc("aclnnNoSuchOperator.md")
    reason = str(skipped.value)
    assert "\n" not in reason and "../shared/docs/aclnnNoSuchOperator.md" in reason and "not found" in reason
