"""golden/: the live reference reproduces the frozen outputs; damaged or stale golden data fails clearly."""

import json
import shutil

import numpy as np
import pytest

from conformance import casegen, golden, operators
from conformance.casegen.inputs import materialise


@pytest.mark.parametrize("case_id", golden.canonical_case_ids())
def test_live_reference_matches_golden(case_id):
    inv = materialise(casegen.by_id(case_id), golden.GOLDEN_SEED)
    frozen = golden.expected_outputs(case_id, inv)
    live = golden.reference_arrays(inv)
    assert sorted(frozen) == sorted(live)
    assert operators.get(inv.op).golden_drift.load()(inv, live, frozen) == [], "reference math changed"

@pytest.mark.parametrize("op", [op.name for op in operators.all_operators() if op.golden_drift is not None])
def test_golden_drift_names_an_array_that_moved(op):
    """Each record's golden_drift can fail: a frozen array moved by one unit in its largest element is named."""
    case_id = next(cid for cid in golden.canonical_case_ids() if casegen.by_id(cid).op == op)
    inv = materialise(casegen.by_id(case_id), golden.GOLDEN_SEED)
    live = golden.reference_arrays(inv)
    moved = {k: v.copy() for k, v in live.items()}
    name = sorted(moved)[0]
    moved[name].flat[np.argmax(np.abs(moved[name]))] += 1 + np.abs(moved[name]).max()
    assert operators.get(op).golden_drift.load()(inv, live, live) == []
    assert name in operators.get(op).golden_drift.load()(inv, live, moved)


@pytest.fixture
def golden_copy(tmp_path):
    shutil.copytree(golden.DEFAULT_DIR, tmp_path / "g")
    return tmp_path / "g"


def _first(golden_dir):
    entry = json.loads((golden_dir / "manifest.json").read_text())["cases"][0]
    return entry, materialise(casegen.by_id(entry["case_id"]), golden.GOLDEN_SEED)


def test_corrupted_file_is_reported_in_one_line(golden_copy):
    entry, inv = _first(golden_copy)
    path = golden_copy / entry["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(golden.GoldenError, match="corrupted") as err:
        golden.expected_outputs(entry["case_id"], inv, golden_copy)
    assert "\n" not in str(err.value) and "regenerate" in str(err.value)


def test_modified_arrays_are_caught_by_the_manifest_hash(golden_copy):
    entry, inv = _first(golden_copy)
    path = golden_copy / entry["file"]
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    arrays[sorted(arrays)[0]][0, 0] += 1
    np.savez_compressed(path, **arrays)
    with pytest.raises(golden.GoldenError, match="do not match the manifest"):
        golden.expected_outputs(entry["case_id"], inv, golden_copy)


def test_stale_generator_version_and_inputs(golden_copy):
    entry, inv = _first(golden_copy)
    manifest = json.loads((golden_copy / "manifest.json").read_text())
    manifest["cases"][0]["input_sha256"] = "0" * 64
    (golden_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(golden.GoldenError, match="stale"):
        golden.expected_outputs(entry["case_id"], inv, golden_copy)
    manifest["generator_version"] = "old"
    (golden_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(golden.GoldenError, match="stale"):
        golden.load_manifest(golden_copy)


def test_garbled_manifest(golden_copy):
    (golden_copy / "manifest.json").write_text("{not json")
    with pytest.raises(golden.GoldenError, match="corrupted"):
        golden.load_manifest(golden_copy)


def test_regenerate_is_deterministic(tmp_path):
    a = golden.regenerate(tmp_path / "a")
    assert a == json.loads((golden.DEFAULT_DIR / "manifest.json").read_text()) or \
        [e["input_sha256"] for e in a["cases"]] == [e["input_sha256"] for e in json.loads(
            (golden.DEFAULT_DIR / "manifest.json").read_text())["cases"]]
