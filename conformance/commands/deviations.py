"""`mc2-conformance deviations`: where the published CANN source contradicts the documents, per source revision."""

from __future__ import annotations

from .common import CliError


def cmd_deviations(a) -> int:
    from ..sim.cann import revisions
    from ..spec import deviations
    try:
        rev = revisions.get(a.sim_cann_revision)
    except revisions.UnknownRevision as exc:
        raise CliError(f"--sim-cann-revision: {exc}") from None
    if a.waivers:
        print(deviations.waiver_toml(rev.name, a.unsupported_inputs), end="")
        return 0
    held = deviations.active(rev.name, a.unsupported_inputs)
    for line in deviations.listing(rev.name, a.unsupported_inputs):
        print(line)
    retired = [d.id for d in deviations.DEVIATIONS if d not in held]
    print(f"\n{len(held)} deviations of the published source at {rev.label} from the documents"
          + (f" (not holding here: {', '.join(retired)})" if retired else "")
          + f"; waive them with --waivers {deviations.waiver_file(rev.name)}")
    return 0


def register(sub) -> None:
    from ..spec.model import UNSUPPORTED_INPUT_READINGS
    p = sub.add_parser("deviations", help="where the published CANN source contradicts the documents")
    p.add_argument("--waivers", action="store_true", help="print them as a waiver file (TOML)")
    p.add_argument("--sim-cann-revision", default=None,
                   help="the source revision (default: the newest modelled); `source-drift` lists them")
    p.add_argument("--unsupported-inputs", default=UNSUPPORTED_INPUT_READINGS[0], choices=UNSUPPORTED_INPUT_READINGS,
                   help="the reading of unsupported inputs no document promises to reject (default "
                        f"{UNSUPPORTED_INPUT_READINGS[0]}): a deviation of the literal reading holds only under reject")
    p.set_defaults(func=cmd_deviations)
