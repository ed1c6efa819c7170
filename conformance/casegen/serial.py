"""Cases to and from JSON: how fuzz findings are frozen into conformance/data/regressions.json (package data: the
frozen findings are part of the case catalogue)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .model import Case, TensorSpec

DEFAULT_REGRESSIONS = Path(__file__).resolve().parent.parent / "data" / "regressions.json"


def regressions_path() -> Path:
    return Path(os.environ.get("MC2_REGRESSIONS", DEFAULT_REGRESSIONS))


def _jsonable(v):
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    return v


def to_dict(case: Case) -> dict:
    return {
        "id": case.id, "op": case.op, "world_size": case.world_size,
        "tensors": [[name, None if spec is None else {"dtype": spec.dtype, "shape": list(spec.shape),
                                                        "values": spec.values, "layout": spec.layout,
                                                        "format": spec.format}] for name, spec in case.tensors],
        "attrs": [[k, v] for k, v in case.attrs], "rejects": case.rejects,
        "covers": list(case.covers), "kind": case.kind, "profile": case.profile, "shape_only": case.shape_only,
        "dtype": case.dtype, "notes": case.notes, "params": [[k, _jsonable(v)] for k, v in case.params],
        "fixed_seed": case.fixed_seed,
    }


def _tuplify(v):
    return tuple(_tuplify(x) for x in v) if isinstance(v, list) else v


def from_dict(d: dict, *, origin: str = "regression") -> Case:
    tensors = tuple((name, None if spec is None else TensorSpec(spec["dtype"], tuple(spec["shape"]), spec["values"],
                                                                spec["layout"], spec["format"]))
                    for name, spec in d["tensors"])
    return Case(id=d["id"], op=d["op"], world_size=int(d["world_size"]), tensors=tensors,
                attrs=tuple((k, v) for k, v in d["attrs"]),
                rejects=bool(d["rejects"]) if "rejects" in d else int(d["expected_status"]) != 0,
                covers=tuple(d["covers"]), kind=d["kind"], profile=d.get("profile", "smoke"),
                shape_only=bool(d.get("shape_only", False)), dtype=d.get("dtype", ""), notes=d.get("notes", ""),
                params=tuple((k, _tuplify(v)) for k, v in d.get("params", [])), origin=origin,
                fixed_seed=d.get("fixed_seed"))


class RegressionFileError(ValueError):
    """The regressions file is unreadable; the message is one line."""


def load_regressions(path: Path | None = None) -> list[Case]:
    path = path or regressions_path()
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
        return [from_dict(d) for d in data["cases"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise RegressionFileError(f"{path} is corrupted ({type(exc).__name__}: {exc}); restore it from git") from None


def add_regression(case: Case, path: Path | None = None) -> Path:
    path = path or regressions_path()
    existing = load_regressions(path)
    entries = [to_dict(c) for c in existing if c.id != case.id] + [to_dict(case)]
    path.write_text(json.dumps({"about": "fuzz findings frozen as fixed cases (mc2-conformance fuzz --export)",
                                "cases": entries}, indent=1) + "\n")
    return path
