"""Helpers shared by the suite's own tests."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from functools import lru_cache
from pathlib import Path

import pytest

from conformance import casegen
from conformance.judge import run_case
from conformance.sim import SimulatorBackend
from conformance.sim.faults import FAULTS
from conformance.context import Context


ROOT = Path(__file__).resolve().parents[1]
# The vendor documents (shared/docs) are not part of the repository: CI and the lead's workspace place shared/
# beside the checkout; a checkout may also hold it inside. A clone without them skips the tests that quote them.
SHARED_DOCS = (ROOT.parent / "shared" / "docs", ROOT / "shared" / "docs")


@lru_cache(maxsize=None)
def _shared_doc_path(name: str) -> Path | None:
    return next((d / name for d in SHARED_DOCS if (d / name).is_file()), None)


def shared_docs(*names: str) -> dict[str, str]:
    """The texts of vendor documents from shared/docs, by name. Where any is absent the calling test SKIPS,
    with one line naming the missing documents; this is the suite's one rule for tests that read them."""
    missing = [n for n in names if _shared_doc_path(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(f'../shared/docs/{n}' for n in missing)} "
                    "(the vendor documents beside the checkout); not found")
    return {n: _shared_doc_path(n).read_text(encoding="utf-8") for n in names}


def shared_doc(name: str) -> str:
    """One vendor document's text (see shared_docs: the test skips where it is absent)."""
    return shared_docs(name)[name]


VENDOR_MIRRORS = os.environ.get("MC2_VENDOR_MIRRORS", "/work/.mirror")  # <dir>/<owner>+<name>/repo: bare mirrors


@lru_cache(maxsize=None)
def vendor_doc(repo: str, commit: str, path: str) -> str:
    """A file of a vendor repository at `commit`, read from its local bare mirror; where the mirror or the file is
    absent the calling test SKIPS, with one line naming it."""
    git_dir = os.path.join(VENDOR_MIRRORS, repo.replace("/", "+"), "repo")
    if not os.path.isdir(git_dir):
        pytest.skip(f"needs the bare mirror of {repo} at {git_dir} (MC2_VENDOR_MIRRORS); not found")
    shown = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], capture_output=True,
                           text=True)
    if shown.returncode:
        pytest.skip(f"{repo}@{commit[:7]} {path} is not in the mirror at {git_dir}")
    return shown.stdout


def spec_modules() -> tuple:
    """The registered operators' spec modules (each record's `constraints` points into one), in registry order."""
    from conformance import operators
    paths = dict.fromkeys(op.constraints.path.partition(":")[0] for op in operators.all_operators()
                          if op.constraints is not None)
    return tuple(importlib.import_module(p) for p in paths)


def contract_doc(name: str) -> str:
    """The text of contract document `name`: a spec module's vendor SOURCE where one names it, else shared/docs."""
    for mod in spec_modules():
        if getattr(mod, "SOURCE", None) and mod.DOC == name:
            return vendor_doc(*mod.SOURCE)
    return shared_doc(name)


HEAVY_SECONDS = 0.3  # a case the host-time estimate puts above this is for the conformance run itself


def heavy(case) -> bool:
    """Whether `case` is one of the dear ones (realistic and LLM layers, the larger path-designed cases) by the
    host-time estimate (casegen/estimate.py): unit tests that sample the catalogue leave them to the run itself."""
    from conformance.casegen import estimate
    return not case.shape_only and estimate.of_case(case).host_seconds > HEAVY_SECONDS


def light_cases(profile: str = "signoff"):
    """The profile without the heavy cases (kept for the conformance run itself)."""
    return [c for c in casegen.select(profile=profile, world_sizes=(1, 2, 4, 8)) if not heavy(c)]


def first_kill(fault: str, cases, *, seed: int = 0):
    """The first case (those covering a violated constraint first) that fails against `fault`, or None."""
    violated = set(FAULTS[fault].violates)
    ordered = sorted(cases, key=lambda c: not (violated & set(c.covers)))
    backend = SimulatorBackend(faults=[fault])
    for case in ordered:
        context = Context(seed=seed, with_metrics=False, status_check=FAULTS[fault].status_check,
                          unsupported_inputs=FAULTS[fault].unsupported_inputs)
        outcome = run_case(case, backend, context)
        if not outcome.passed:
            return case, outcome
    return None


class ThreadChannel:
    """GroupChannel for ranks in threads: allgather through shared slots and a barrier."""

    def __init__(self, world_size: int):
        self.barrier = threading.Barrier(world_size, timeout=20)
        self.slots = [None] * world_size
        self.rounds = 0

    def rank(self, r: int):
        channel = self

        class _Side:
            def allgather(self, obj):
                channel.slots[r] = obj
                channel.barrier.wait()
                out = list(channel.slots)
                channel.rounds += r == 0
                channel.barrier.wait()
                return out
        return _Side()


def fake_cann_home(tmp_dir, layout: str = "single", *, omit: tuple[str, ...] = ()) -> Path:
    """The recording fake CANN built in `tmp_dir` (tests/fake_cann), or the test skipped where no C compiler can
    build it."""
    import fake_cann
    try:
        return fake_cann.build(tmp_dir, layout, omit=omit)
    except fake_cann.NoCompiler as exc:
        pytest.skip(f"needs a C compiler for the fake CANN: {exc}")


def run_aclnn_ranks(inv, devices=None, *, calls: int = 1, mode="fused", warmup=0, iterations=0, **options):
    """Run `inv` through the aclnn rank program, ranks in threads, whole program life: `calls` invocations per
    rank. Returns (per rank: the list of its RankResults, or the exception it raised; the ThreadChannel). `mode`,
    `warmup` and `iterations` go to each RankCall (the chain and device timing), `options` to the program."""
    from conformance.backends.aclnn.program import AclnnRankProgram
    from conformance.engine.program import RankCall
    world, channel = inv.world_size, ThreadChannel(inv.world_size)
    tokens, out = [None] * world, [[] for _ in range(world)]

    def rank_main(r):
        prog = AclnnRankProgram(rank=r, world_size=world, device=devices[r] if devices else None, **options)
        try:
            tokens[r] = prog.open()
            channel.barrier.wait()
            prog.connect(tokens[0])
            for _ in range(calls):
                out[r].append(prog.invoke(RankCall(inv.op, r, world, inv.ranks[r], inv.attrs, inv.shape_only,
                                                   inv.case_id, channel.rank(r), inv.ranks, mode=mode,
                                                   warmup=warmup, iterations=iterations)))
        except BaseException as exc:  # recorded for the test; peers must not wait for this rank
            out[r] = exc
            channel.barrier.abort()
        finally:
            prog.close()

    threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out, channel


# --- rank processes on the CANN twin (the real torch_npu) ------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_torch_ranks(twin, script: str, world: int, tmp_path: Path, extra_env: dict | None = None,
                    timeout: float = 120) -> list[str]:
    """Run `script` as `world` rank processes on the twin; their stdout (assertion failures show every rank's
    output tail)."""
    path = tmp_path / "rank_script.py"
    path.write_text(textwrap.dedent(script))
    env = {**os.environ, **twin.env, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
           "WORLD_SIZE": str(world), "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
           **(extra_env or {})}
    procs = [subprocess.Popen([sys.executable, str(path)], env={**env, "RANK": str(r)}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True) for r in range(world)]
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=timeout)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 9)
                p.wait()
    failed = [(r, p.returncode) for r, p in enumerate(procs) if p.returncode != 0]
    assert not failed, "\n".join(f"rank {r} exit {rc}:\n{outputs[r][-3000:]}" for r, rc in failed)
    return outputs


def results_of(output: str) -> dict:
    """A rank's `RESULT {"name": value}` lines, as one dict."""
    return {k: v for line in output.splitlines() if line.startswith("RESULT ")
            for k, v in [json.loads(line[7:])]}


def shape_only_pick(op: str, world_size: int, backend):
    """doctor's tiny case stand-in: a valid descriptors-only bound case of `op` at `world_size` (an operator whose
    bound cases skip that world size lends one of another, resized: descriptors do not depend on it)."""
    from dataclasses import replace

    from conformance import casegen
    cases = [c for c in casegen.catalogue() if c.op == op and c.shape_only and c.kind == "valid" and not c.rejects
             and "BOUND" in c.id]
    case = next((c for c in cases if c.world_size == world_size), cases[0])
    return replace(case, world_size=world_size), ""


def prepared_twin(*, needs_torch_npu: bool = False):
    """The CANN twin, built and installed (conformance.twin.prepare); the calling test skips, saying why, where it
    cannot run on this machine: no torch_npu (`needs_torch_npu`), no C compiler or wheel headers (TwinError)."""
    import importlib.util

    import pytest

    if needs_torch_npu and importlib.util.find_spec("torch_npu") is None:
        pytest.skip("torch_npu is not installed (pip extra torch-npu)")
    from conformance.twin import TwinError, prepare
    try:
        return prepare()
    except TwinError as exc:
        pytest.skip(f"no CANN twin on this machine: {exc}")
