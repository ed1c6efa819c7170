"""Frozen expected outputs of the canonical cases (conformance/data/golden/, package data), in the ONNX backend-test
style.

Its manifest.json lists, per case: the id, the seed its inputs were drawn from, sha256 of those inputs,
sha256 of the frozen outputs, and the file. The generator version names the reference math; bump it when that
math changes on purpose and regenerate (`mc2-conformance golden --regenerate`).
A file whose content does not match its sha256 is corrupted; inputs that no longer hash the same (a numpy
generator change, a changed case) or another generator version make the golden stale. Both raise
GoldenError with a one-line message saying what to do.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from . import casegen, operators
from .casegen.inputs import materialise
from .protocol import Invocation

GENERATOR_VERSION = "marn-fp32-ref-1+v3-ref-1"
GOLDEN_SEED = 20241122
DEFAULT_DIR = Path(__file__).resolve().parent / "data" / "golden"


class GoldenError(Exception):
    """A golden file is missing, corrupted or stale; the message is one line."""


def canonical_case_ids() -> list[str]:
    """Small deterministic cases: the smoke profile's computing cases plus odd shapes at world size 8."""
    generated = [c for c in casegen.catalogue() if c.origin == "catalogue"]  # regressions never stale golden
    ids = [c.id for c in generated if c.kind in ("valid", "exact") and not c.shape_only and c.profile == "smoke"]
    for c in generated:
        op = operators.get(c.op)  # its golden selection is the operator record's
        if c.world_size == 8 and op.golden_wide and c.id.removeprefix(op.short + "-").startswith(op.golden_wide):
            ids.append(c.id)
    return ids


def inputs_sha256(inv: Invocation) -> str:
    h = hashlib.sha256()
    for rank, tensors in enumerate(inv.ranks):
        for name, t in tensors.items():
            h.update(f"{rank}/{name}/".encode())
            if t is not None and t.data is not None:
                h.update(f"{t.dtype}{t.shape}{t.strides}".encode())
                h.update(_bytes(t.data))
    return h.hexdigest()


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}/{a.dtype}/{a.shape}/".encode())
        h.update(_bytes(a))
    return h.hexdigest()


def _bytes(a: np.ndarray) -> np.ndarray:
    """The array's bytes as a uint8 view (no copy for a contiguous array: hashing 100+ MB outputs stays cheap)."""
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


def reference_arrays(inv: Invocation) -> dict[str, np.ndarray]:
    """The arrays frozen for `inv`: the operator's reference's choice (its record's `golden_arrays`)."""
    return operators.get(inv.op).code("golden_arrays")(inv)


def regenerate(directory: Path = DEFAULT_DIR) -> dict:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.npz"):
        old.unlink()
    entries = []
    for cid in canonical_case_ids():
        inv = materialise(casegen.by_id(cid), GOLDEN_SEED)
        arrays = reference_arrays(inv)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        (directory / f"{cid}.npz").write_bytes(buf.getvalue())
        entries.append({"case_id": cid, "seed": GOLDEN_SEED, "input_sha256": inputs_sha256(inv),
                        "output_sha256": arrays_sha256(arrays), "file": f"{cid}.npz"})
    manifest = {"generator_version": GENERATOR_VERSION, "cases": entries}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def load_manifest(directory: Path = DEFAULT_DIR) -> dict:
    path = Path(directory) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
        cases = {e["case_id"]: e for e in manifest["cases"]}
        version = manifest["generator_version"]
    except FileNotFoundError:
        raise GoldenError(f"{path} is missing; run `mc2-conformance golden --regenerate`") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise GoldenError(f"{path} is corrupted ({type(exc).__name__}: {exc}); restore it from git "
                          f"or run `mc2-conformance golden --regenerate`") from None
    if version != GENERATOR_VERSION:
        raise GoldenError(f"{path} was made by generator {version!r}, this suite is {GENERATOR_VERSION!r}: "
                          f"the golden is stale; review the reference change and run "
                          f"`mc2-conformance golden --regenerate`")
    return cases


def expected_outputs(case_id: str, inv: Invocation, directory: Path = DEFAULT_DIR) -> dict[str, np.ndarray]:
    """The frozen outputs of `case_id`, after checking the file and that `inv` has the frozen inputs."""
    entry = load_manifest(directory).get(case_id)
    if entry is None:
        raise GoldenError(f"case {case_id!r} has no golden entry; run `mc2-conformance golden --regenerate`")
    path = Path(directory) / entry["file"]
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise GoldenError(f"{path} is missing; restore it from git or run `mc2-conformance golden --regenerate`") \
            from None
    except Exception as exc:  # zip/pickle/format errors of a damaged file
        raise GoldenError(f"{path} is corrupted ({type(exc).__name__}); restore it from git or run "
                          f"`mc2-conformance golden --regenerate`") from None
    if arrays_sha256(arrays) != entry["output_sha256"]:
        raise GoldenError(f"{path} is corrupted: its outputs do not match the manifest's sha256; restore it "
                          f"from git or run `mc2-conformance golden --regenerate`")
    if inputs_sha256(inv) != entry["input_sha256"]:
        raise GoldenError(f"golden {case_id}: the inputs drawn from seed {entry['seed']} no longer match the "
                          f"manifest (numpy generator or case definition changed): the golden is stale; run "
                          f"`mc2-conformance golden --regenerate`")
    return arrays
