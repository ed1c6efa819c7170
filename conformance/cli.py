"""`mc2-conformance`: the release engineer's entry point.

  doctor       check a new node first, in seconds: libraries, versions, devices, communicators, a tiny case
               per operator, and what the node can sign off
  run          a sign-off run through pytest (progress on the console), then summary.md / .html / .json
  report       the verdict page (+ Allure HTML) from one or more run folders, merged (one per hardware node)
  constraints  the constraint catalogue with the tests covering each constraint (--json for machines)
  deviations   where the published CANN source contradicts the documents, per source revision (--waivers)
  source-drift what changed in the published host path between two source revisions, and which cases it moves
  paths        which implementation paths (tiling and kernel decisions) the cases reach, per platform
  golden       check the frozen golden data, or --regenerate it on purpose
  repro        rerun one case by id, without pytest, and print every check
  selfcheck    score the suite: the clean simulator must pass, every named fault must be caught
  fuzz         property-based fuzzing of the valid and invalid input spaces; replay or export a failure
  faults       list the simulator's named faults
  diff         what changed between two run folders (status, bits, accuracy drift, performance, environment)
  perf         fused operator against its chain of separate operators: latency, speedup, bus bandwidth

`run` translates its options to the pytest plugin's (--backend -> --mc2-backend, --seed -> --mc2-seed, ...);
`mc2-conformance COMMAND --help` lists a command's options.

--twin (run, repro, fuzz, doctor) runs the hardware backends (aclnn, torch-npu) on the CANN twin (CPU): fake CANN
libraries on this machine with the operators executed by sim-cann's device model (conformance/twin); reports say
"CANN twin (CPU)", never hardware.
"""

from __future__ import annotations

import argparse
import os
import sys

from .commands import (constraints, deviations, diff, doctor, faults, fuzz, golden, paths, perf, report, repro,
                       run, selfcheck, source_drift)
from .commands.common import CliError

# --help order
COMMANDS = (doctor, run, report, constraints, deviations, source_drift, paths, golden, repro, selfcheck, fuzz, perf,
            faults, diff)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(prog="mc2-conformance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the suite's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    from .backends import BackendError
    from .golden import GoldenError
    try:
        return a.func(a)
    except (CliError, BackendError, GoldenError, ValueError) as exc:
        print(f"mc2-conformance {a.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `mc2-conformance ... | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
