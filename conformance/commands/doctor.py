"""`mc2-conformance doctor`: check a new node in seconds, before its first sign-off run (conformance/doctor.py holds
the checks). Prints each check, one line per problem naming what to fix, and what this node can sign off; exit
status 0 when all is well, 1 on any problem (also on a node without CANN, after one line)."""

from __future__ import annotations

from .common import CliError, add_suite_options, context_of

MARK = {"ok": "ok  ", "problem": "FAIL", "skipped": "skip"}


def render_check(check, *, verbose: bool = False) -> list[str]:
    lines = [f"{MARK[check.status]}  {check.name:<44} {check.summary}"]
    if verbose or check.name in ("libraries", "versions", "signoff") or check.status == "problem":
        lines += [f"        {d}" for d in check.details if d]
    return lines


def cmd_doctor(a) -> int:
    from .. import doctor
    devices = None
    if a.devices is not None:
        from ..hw.leasing import LeaseError, parse_devices
        try:
            devices = parse_devices(a.devices)
        except LeaseError as exc:
            raise CliError(f"--devices: {exc}") from None
    from .. import backend_setup
    context = context_of(a)
    found = _twin_as_found(context)  # before prepare_twin rewrites whatever the tree lacks
    found_missing = tuple(found.missing()) if found is not None else ()
    twin = backend_setup.prepare_twin(context)  # --twin: built if needed; one line (exit 2) if it cannot be
    env = doctor.twin_env(a.backend, twin) if twin is not None else None
    first = doctor.check_cann(doctor.Node(a.backend, **({"env": env} if env else {})))
    if not first.ok:  # a node without CANN: one line
        print(f"doctor: {first.summary}; fix: {first.fix}")
        return 1
    on = f" on the {backend_setup.twin_target()}, not hardware" if twin is not None else ""
    print(f"doctor: backend {a.backend}{on}, {first.summary}" + (f", devices {a.devices}" if devices else ""))

    def show(check) -> None:
        if check.name != "cann":
            print("\n".join(render_check(check, verbose=a.verbose)), flush=True)

    checks = doctor.run_checks(a.backend, devices, make_backend=doctor.default_backend(a.rank_deadline, twin),
                               on_check=show, twin=twin,
                               found_missing=found_missing if found is not None and found.home == twin.home else ())
    problems = [c for c in checks if c.status == doctor.PROBLEM]
    if problems:
        print(f"\n{len(problems)} problem{'s' if len(problems) > 1 else ''}, what to fix:")
        for c in problems:
            print(f"  {c.name}: {c.fix}")
        return 1
    print(f"\nall good{on}")
    return 0


def _twin_as_found(context):
    """The --twin install tree as it is before prepare() (conformance.twin.locate), None without --twin, when never
    built, or when it cannot be located (prepare_twin then says why in one line)."""
    if not context.twin:
        return None
    from .. import twin
    try:
        return twin.locate(revision=context.twin_revision)
    except (twin.TwinError, OSError):
        return None


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check this node in seconds: libraries, versions, devices, communicators, one "
                                      "tiny case per operator; what it can sign off")
    p.add_argument("--backend", default="aclnn", choices=("aclnn", "torch-npu"),
                   help="the hardware backend to check (default aclnn)")
    p.add_argument("--devices", default=None, metavar="LIST",
                   help="device ids to use, like '0-7' or '0,1' (default: rank r on device r)")
    p.add_argument("--rank-deadline", type=float, default=120.0, metavar="S",
                   help="seconds one tiny case may take on all ranks (default 120; communicator set-up has its own "
                        "300 s)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every check's details (paths, symbols)")
    add_suite_options(p, only=("--twin", "--twin-revision"))
    p.set_defaults(func=cmd_doctor)
