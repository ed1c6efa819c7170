"""`mc2-conformance constraints`: the constraint catalogue with the tests covering each constraint."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from .common import (DEFAULT_SELFCHECK_DIR, CliError, add_cases_option, add_suite_options, cases_dir, context_of,
                     run_pytest)


def coverage(profile: str, world_sizes: str, cases: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coverage.json"
        proc = run_pytest([str(cases), "--collect-only", "-q", "--mc2-profile", profile, "--mc2-world-sizes",
                        world_sizes, "--mc2-coverage", str(path)], capture_output=True, text=True)
        if not path.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise CliError("collecting the cases failed: " + " | ".join(tail))
        return json.loads(path.read_text())


def cmd_constraints(a) -> int:
    from .. import selfcheck
    if a.doc_drift:
        from ..spec.revisions import drift_lines
        for line in drift_lines():
            print(line)
        return 0
    from ..sim.faults import FAULTS
    from ..spec import AMBIGUITIES
    from ..spec.revisions import notices, revision_ids_for
    ctx = context_of(a)
    records = ctx.constraints  # as --doc-revision states them (default: the shared documents)
    doc_notices = notices(revision_ids_for(ctx.doc_revision or ""))
    profile = ctx.profile
    cov = coverage(profile, ",".join(map(str, ctx.world_sizes)), cases_dir(a))["coverage"]
    sc = selfcheck.load(Path(a.selfcheck) / "selfcheck.json") if a.selfcheck else None
    killed = {r["fault"]: r["killed"] for r in (sc or {}).get("faults", [])}
    faults_of = {}
    for f in FAULTS.values():
        for cid in f.violates:
            faults_of.setdefault(cid, []).append(f.name)
    rows = []
    for c in records.values():
        rows.append({"id": c.id, "ops": list(c.ops), "kind": c.kind, "expected_status": c.expected_status,
                     "code_source": c.code_source, "original": c.original, "paraphrase": c.paraphrase,
                     "constrains": list(c.constrains), "source": c.source, "notes": c.notes,
                     "phase": c.phase, "revision": c.revision,
                     "tests": cov.get(c.id, []), "faults": faults_of.get(c.id, []),
                     "faults_killed": {f: killed.get(f) for f in faults_of.get(c.id, [])},
                     **({"since": c.since, "setting": c.setting} if c.since else {})})
    uncovered = [r["id"] for r in rows if not r["tests"]]
    if a.json:
        print(json.dumps({"profile": profile, "constraints": rows, "uncovered": uncovered,
                          "ambiguities": [vars(x) for x in AMBIGUITIES],
                          **({"doc_revision": ctx.doc_revision, "notices": doc_notices} if ctx.doc_revision else {})},
                         indent=1, ensure_ascii=False))
        return 0
    for line in doc_notices:  # a deprecation the selected document revision states
        print(f"NOTICE: {line}")
    print("status: the code a document promises; (code) = the aclnn convention's, enforced only with "
          "--status-check convention (by default any rejection passes there and its code is recorded)")
    print(f"{'constraint':<17}{'kind':<8}{'status':<9}{'code from':<11}{'tests':>6}{'faults':>7}{'killed':>7}  promise")
    for r in rows:
        status = ("-" if r["expected_status"] is None else str(r["expected_status"])
                  if r["code_source"] == "document" else f"({r['expected_status']})")
        source = r["code_source"] if r["expected_status"] is not None else "-"
        kills = [v for v in r["faults_killed"].values() if v is not None]
        proven = f"{sum(kills)}/{len(r['faults'])}" if kills else "?"
        print(f"{r['id']:<17}{r['kind']:<8}{status:<9}{source:<11}{len(r['tests']):>6}"
              f"{len(r['faults']):>7}{proven:>7}  {r['paraphrase']}")
        if r.get("setting"):
            print(f"{'':17}from {r['since']}, under {r['setting']}")
        if a.verbose:
            print(f"{'':17}original: {r['original']}")
            for t in r["tests"][:5]:
                print(f"{'':17}test: {t}")
            for f, k in r["faults_killed"].items():
                print(f"{'':17}fault: {f} ({'killed' if k else 'SURVIVED' if k is False else 'not self-checked'})")
    print(f"\n{len(rows)} constraints, profile {profile}: "
          + (f"UNCOVERED (no test): {', '.join(uncovered)}" if uncovered else "every constraint is covered"))
    if sc:
        print(f"self-check ({Path(a.selfcheck) / 'selfcheck.json'}): {sc['killed']}/{sc['total']} faults killed, "
              f"clean simulator {'passes' if sc['clean']['passed'] else 'FAILS'}; 'killed' = faults proven caught")
    else:
        print("'killed' shows '?' until `mc2-conformance selfcheck` has written its results (--selfcheck DIR)")
    print("\nAmbiguities and contradictions in the documents (the suite's choice):")
    for x in AMBIGUITIES:
        print(f"  {x.id}: {x.statement}\n  {'':{len(x.id)}}  choice: {x.choice}"
              + (f" [option: {x.option}]" if x.option else ""))
    from ..spec.deviations import listing
    print("\nWhere the published implementation contradicts the documents (mc2-conformance deviations):")
    for line in listing():
        print(f"  {line}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("constraints", help="the constraint catalogue and its coverage")
    p.add_argument("--json", action="store_true", help="print the catalogue as JSON (for machines)")
    p.add_argument("-v", "--verbose", action="store_true", help="show original sentences and covering tests")
    # the profile and world sizes whose tests count; the document revision whose records are listed
    add_suite_options(p, only=("--profile", "--world-sizes", "--doc-revision"))
    p.add_argument("--selfcheck", default=DEFAULT_SELFCHECK_DIR, help="folder of a selfcheck run to show kills from")
    p.add_argument("--doc-drift", action="store_true",
                   help="list what changed in the newer revisions of the documents (for --doc-revision)")
    add_cases_option(p)
    p.set_defaults(func=cmd_constraints)
