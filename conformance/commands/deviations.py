"""`mc2-conformance deviations`: where the published CANN source contradicts the documents."""

from __future__ import annotations


def cmd_deviations(a) -> int:
    from ..spec import deviations
    if a.waivers:
        print(deviations.waiver_toml(), end="")
        return 0
    for line in deviations.listing():
        print(line)
    print(f"\n{len(deviations.DEVIATIONS)} deviations of the published source (hicann/ops-transformer@c29bc10) from "
          f"the documents; waive them with --waivers waivers/cann-source-deviations.toml")
    return 0


def register(sub) -> None:
    p = sub.add_parser("deviations", help="where the published CANN source contradicts the documents")
    p.add_argument("--waivers", action="store_true", help="print them as a waiver file (TOML)")
    p.set_defaults(func=cmd_deviations)
