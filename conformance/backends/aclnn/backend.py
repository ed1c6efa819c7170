"""The aclnn backend: the operators through their C API (ctypes), one worker process per rank on the
rank engine (conformance/engine). The per-rank work is conformance/backends/aclnn/program.py.

Settings (constructor arguments, else environment): lib_dir / $MC2_ACLNN_LIB_DIR (else $ASCEND_HOME_PATH),
sync_timeout_ms / $MC2_ACLNN_SYNC_TIMEOUT_MS (aclrtSynchronizeStreamWithTimeout, default 60000),
deadline_s (per invocation, all ranks; from --rank-deadline), busy_cores (--busy-cores: the AI cores a second
stream of each rank keeps busy during every fused call, conformance/backends/busy.py; busy_work replaces the
default BusyWork, for tests). The libraries are located at construction, so a
missing one fails the run at start-up with one line naming every path looked at.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict
from pathlib import Path

from ... import operators
from ...engine import RankEngine
from ...protocol import TARGET_HARDWARE, Invocation, RankResult, Timing
from ..busy import BusyWork, work_for
from . import abi, libs
from .program import DEFAULT_SYNC_TIMEOUT_MS, chain_unsupported

PROGRAM = "conformance.backends.aclnn.program:AclnnRankProgram"
TENSOR_HELPERS = ("aclCreateTensor", "aclDestroyTensor", "aclCreateIntArray")
SYNC_TIMEOUT_ENV = "MC2_ACLNN_SYNC_TIMEOUT_MS"
# The arguments that ask for low-bit communication (quantise, all_to_all, requantise, all_gather): no chain
# of separate operators binds those steps, whatever the operator.
LOW_BIT_COMM_ARGS = ("commQuantScale1", "commQuantScale2")
VERSION_FILES = ("version.cfg", "version.info", "ascend_toolkit_install.info",
                 "aarch64-linux/ascend_toolkit_install.info", "x86_64-linux/ascend_toolkit_install.info",
                 "runtime/version.info")


def cann_version(home: Path) -> tuple[str, str] | None:
    """(version, file it came from) from the first version file of a CANN install that names one."""
    for rel in VERSION_FILES:
        path = home / rel
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        match = re.search(r"^\s*(?:Version|version)\s*=\s*(\S+)", text, re.MULTILINE)
        if match:
            return match.group(1), str(path)
    return None


class AclnnBackend:
    name = "aclnn"
    reuses_rank_groups = True  # the plugin orders tests by world size so communicators live long

    def __init__(self, *, lib_dir: str | None = None, sync_timeout_ms: int | None = None,
                 deadline_s: float = 120.0, persistent: bool = True, busy_cores: int = 0,
                 busy_work: BusyWork | None = None, env: dict | None = None):
        self.env = env  # the rank processes' whole environment (default: this process's), e.g. the CANN twin's
        self.lib_dir = lib_dir or os.environ.get(libs.LIB_DIR_ENV) or None
        self.layout = libs.find_layout(self.lib_dir)  # BackendError (one line) if any library is missing
        self.paths = self.layout.paths
        self.sync_timeout_ms = int(sync_timeout_ms or os.environ.get(SYNC_TIMEOUT_ENV) or DEFAULT_SYNC_TIMEOUT_MS)
        self.deadline_s = deadline_s
        self.busy_work = busy_work or work_for(busy_cores)
        options = {"lib_dir": self.lib_dir, "sync_timeout_ms": self.sync_timeout_ms}
        if self.busy_work is not None:
            options["busy"] = asdict(self.busy_work)
        self.engine = RankEngine(program=PROGRAM, deadline_s=deadline_s, persistent=persistent, options=options,
                                 env=env)
        self._symbols: dict[str, str] | None = None

    def describe(self) -> dict[str, str]:
        info = {"backend": "aclnn (C API through ctypes, one process per rank)", "target": TARGET_HARDWARE,
                "rank_deadline_s": str(self.deadline_s), "sync_timeout_ms": str(self.sync_timeout_ms)}
        if self.busy_work is not None:
            w = self.busy_work
            info["busy cores"] = (f"{w.cores} cube cores held per fused call by {w.launches} x aclnnMatmul "
                                  f"({w.m}x{w.k} @ {w.k}x{w.n} {w.dtype}) on a second stream")
        info["library layout"] = self.layout.layout
        info.update({f"lib {name}": str(path) for name, path in self.paths.items()})
        info.update({f"lib {name}": f"{path} (present, not loaded: {libs.SPLIT_RULE})"
                     for name, path in self.layout.skipped.items()})
        info.update(self._symbol_origins())
        environ = os.environ if self.env is None else self.env
        home = Path(environ["ASCEND_HOME_PATH"]) if environ.get("ASCEND_HOME_PATH") else \
            self.paths["libascendcl.so"].parent.parent
        found = cann_version(home)
        if found:
            info["cann_version"], info["cann_version_file"] = found
        return info

    def _symbol_origins(self) -> dict[str, str]:
        """The library each symbol came from: per library, the symbols resolved from it (abi.Api: every prototype
        and the optional ones found), and individually the tensor helpers, whose home is UNCONFIRMED (libnnopbase
        or libascendcl)."""
        if self._symbols is None:
            try:
                loaded = libs.load(self.lib_dir)
                abi.Api(loaded)
                info = {f"{s} from": loaded.origin[s] for s in TENSOR_HELPERS}
                for lib in loaded.handles:
                    names = sorted(s for s, home in loaded.origin.items() if home == lib)
                    if names:
                        info[f"symbols from {lib}"] = ", ".join(names)
                missing = sorted(set(abi.OPTIONAL) - set(loaded.origin))
                if missing:
                    info["optional symbols not found"] = ", ".join(missing)
                self._symbols = info
            except Exception as exc:  # describe() reports; invoke() will fail with the same cause
                self._symbols = {"symbols": f"not loadable here: {exc}"}
        return self._symbols

    def unsupported_reason(self, inv: Invocation) -> str | None:
        try:  # every registered operator's C ABI is its record's (abi.operator_abi)
            abi.operator_abi(inv.op)
        except operators.UnknownOperator:
            return f"the aclnn backend has no binding for {inv.op}"
        return None

    def invoke(self, inv: Invocation) -> list[RankResult]:
        return self.engine.run(inv)

    @staticmethod
    def chain_unsupported_reason(inv: Invocation) -> str | None:
        unsupported = chain_unsupported(inv.op)
        if unsupported:
            return unsupported
        if any(t.get(name) is not None for t in inv.ranks for name in LOW_BIT_COMM_ARGS):
            return ("the low-bit communication steps (quantise, all_to_all, requantise, all_gather) have no "
                    "separate-operator binding in the aclnn backend's chain")
        if inv.shape_only:
            return "a shape-only invocation has no chain"
        return None

    def invoke_chain(self, inv: Invocation) -> list[RankResult]:
        """The benchmark chain as separate operators on the device (program.py _chain_plan), outputs under the
        fused operator's names."""
        reason = self.chain_unsupported_reason(inv)
        if reason:
            raise ValueError(f"{inv.case_id}: no aclnn chain: {reason}")
        return self.engine.run(inv, mode="chain")

    def timed(self, inv: Invocation, *, chain: bool, warmup: int, iterations: int) -> Timing:
        """Device-event latencies (aclrtEventElapsedTime) of `iterations` launches after `warmup`; per iteration
        the slowest rank's (the collective completes when its last rank does)."""
        if chain:
            reason = self.chain_unsupported_reason(inv)
            if reason:
                raise ValueError(f"{inv.case_id}: no aclnn chain: {reason}")
        return self.engine.timed(inv, chain=chain, warmup=warmup, iterations=iterations)

    def close(self) -> None:
        self.engine.close()
