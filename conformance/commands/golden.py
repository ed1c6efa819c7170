"""`mc2-conformance golden`: check the frozen golden data, or --regenerate it on purpose."""

from __future__ import annotations

from pathlib import Path


def cmd_golden(a) -> int:
    from .. import golden
    from .. import casegen
    from ..casegen.inputs import materialise
    directory = Path(a.dir) if a.dir else golden.DEFAULT_DIR
    if a.regenerate:
        m = golden.regenerate(directory)
        print(f"golden: wrote {len(m['cases'])} cases to {directory} (generator {m['generator_version']})")
        return 0
    cases = golden.load_manifest(directory)
    for cid in cases:
        golden.expected_outputs(cid, materialise(casegen.by_id(cid), golden.GOLDEN_SEED), directory)
    print(f"golden: {len(cases)} cases intact and current in {directory}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("golden", help="check or regenerate the golden data (conformance/data/golden/)")
    p.add_argument("--regenerate", action="store_true",
                   help="rewrite the golden data from the current reference (on purpose only)")
    p.add_argument("--dir", help="golden data folder (default: the package's conformance/data/golden/)")
    p.set_defaults(func=cmd_golden)
