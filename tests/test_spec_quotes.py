"""Every `original` of the catalogue is text of its document, verbatim up to whitespace.

An original may join excerpts from different places of the document with " … " (the spec modules' ELIDED);
each excerpt must appear in the document. Where no sentence of the document states a record, its original is
empty and its notes begin with "paraphrase only:", saying what the record is implied by.

The spec modules are the registered operators' (each record's `constraints` points into one). A module whose
contract lives in shared/docs names it by DOC; a module quoting the vendor's repository directly names
SOURCE = (repository, commit, path) and freezes QUOTE_SHA256 (id -> sha256 of the whitespace-free original): its
quotes are read from the local bare mirror of that repository where it exists (skipped with one line where not),
and the frozen hashes are checked always, so an edited quote fails until it is verified against the source again.
"""

import hashlib
import re

import pytest

from helpers import shared_doc, spec_modules, vendor_doc

MODULES = spec_modules()
RECORDS = [(mod, c) for mod in MODULES for c in mod.CONSTRAINTS]
VENDOR_QUOTED = [mod for mod in MODULES if hasattr(mod, "SOURCE")]


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _document(mod) -> str:
    if hasattr(mod, "SOURCE"):
        return _norm(vendor_doc(*mod.SOURCE))
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


@pytest.mark.parametrize("mod", VENDOR_QUOTED, ids=[m.__name__ for m in VENDOR_QUOTED])
def test_vendor_quotes_match_their_frozen_hashes(mod):
    quoting = {c.id: hashlib.sha256(_norm(c.original).encode()).hexdigest() for c in mod.CONSTRAINTS if c.original}
    assert quoting == mod.QUOTE_SHA256, (
        f"{mod.__name__}: quotes changed or unhashed: "
        f"{sorted(k for k in quoting.keys() | mod.QUOTE_SHA256.keys() if quoting.get(k) != mod.QUOTE_SHA256.get(k))}"
        " (verify them against SOURCE, then freeze the new hashes)")


def test_the_elision_mark_is_the_same_in_every_module():
    assert len({(mod.ELIDED, mod.PARAPHRASE_ONLY) for mod in MODULES}) == 1


def test_a_missing_document_skips_with_one_line_naming_it():
    with pytest.raises(pytest.skip.Exception) as skipped:
        shared_doc("aclnnNoSuchOperator.md")
    reason = str(skipped.value)
    assert "\n" not in reason and "../shared/docs/aclnnNoSuchOperator.md" in reason and "not found" in reason


def test_a_missing_mirror_skips_with_one_line_naming_it():
    with pytest.raises(pytest.skip.Exception) as skipped:
        vendor_doc("nobody/no-such-repo", "0" * 40, "doc.md")
    reason = str(skipped.value)
    assert "\n" not in reason and "nobody/no-such-repo" in reason and "not found" in reason
