"""The MC2 operators the client library reaches that may have no operator record (unrecorded_mc2.json: their
prototypes, cited). The twin generates their C wrappers (build.py) and answers them "not modelled"
(operators.py) until a record of the same execute name is registered, which then serves the call. A data file,
so that registering one of them changes no code of the twin (tests/test_operators.py's name scan)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .. import operators

DATA = Path(__file__).with_name("unrecorded_mc2.json")


@lru_cache(maxsize=None)
def unrecorded_mc2() -> dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """{execute function: (inputs, scalars, outputs) in C order} of the listed operators no record describes."""
    recorded = {op.abi.execute_fn for op in operators.all_operators()}
    listed = json.loads(DATA.read_text(encoding="utf-8"))["operators"]
    return {fn: (tuple(p["inputs"]), tuple(p["scalars"]), tuple(p["outputs"]))
            for fn, p in listed.items() if fn not in recorded}
