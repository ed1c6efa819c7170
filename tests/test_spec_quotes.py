"""Every `original` of the catalogue is text of its document, verbatim up to whitespace.

An original may join excerpts from different places of the document with " … " (the spec modules' ELIDED);
each excerpt must appear in the document. Where no sentence of the document states a record, its original is
empty and its notes begin with "paraphrase only:", saying what the record is implied by.

The document is the operator's copy in shared/docs, or, for a spec module that names `QUOTED_FROM` (repository,
revision, path: a contract quoted from the vendor's repository), that file read from its bare mirror under
MC2_VENDOR_MIRRORS (default /work/.mirror, `<owner>+<name>/repo`); the test skips with one line where it is absent.
"""

import importlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from conformance import operators
from conformance.spec import marn, v3
from helpers import shared_doc

# every registered operator's spec module (its record's constraints), once
MODULES = tuple(dict.fromkeys(importlib.import_module(op.constraints.path.partition(":")[0])
                              for op in operators.all_operators() if op.constraints is not None))
RECORDS = [(mod, c) for mod in MODULES for c in mod.CONSTRAINTS]


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def mirrored_doc(repo: str, revision: str, path: str) -> str:
    """`path` at `revision` of `repo` from its bare mirror; the calling test skips (one line) where it is absent."""
    git_dir = Path(os.environ.get("MC2_VENDOR_MIRRORS", "/work/.mirror")) / repo.replace("/", "+") / "repo"
    shown = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{revision}:{path}"], capture_output=True,
                           text=True) if git_dir.is_dir() else None
    if shown is None or shown.returncode:
        pytest.skip(f"needs {repo}@{revision[:7]} {path} (a bare mirror at {git_dir}); not found")
    return shown.stdout


def _document(mod) -> str:
    quoted_from = getattr(mod, "QUOTED_FROM", None)
    return _norm(mirrored_doc(*quoted_from) if quoted_from else shared_doc(mod.DOC))


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
