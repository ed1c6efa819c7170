"""`mc2-conformance doctor`: what a new node has, in seconds, before a sign-off run: one function per check, each
returning a `Check` record (conformance/commands/doctor.py renders them). No pytest here.

Checks, in order (a check that needs an earlier one's result is skipped when that one failed):
  twin           with --twin only: every piece of the CANN twin's install tree is there (Twin.missing(): its
                 libraries, libcann_twin.so, the install-info files); the checks below then run on the twin, whose
                 environment the node's is (backend_setup.runner_env), and name each missing piece again as the
                 backend finds it
  cann           $ASCEND_HOME_PATH is set (aclnn: or $MC2_ACLNN_LIB_DIR); without it `run_checks` stops at once
  libraries      aclnn: the library layout and each library's path (backends/aclnn/libs.py: the split
                 libopapi_{math,nn,transformer}.so + libhcomm.so, or the old libopapi.so + libhccl.so, never both);
                 torch-npu: torch and torch_npu import (the backend's own start-up check), MindSpeed's presence
  symbols        aclnn: every prototyped symbol, and the library it came from
  versions       CANN (the install-info / version file under $ASCEND_HOME_PATH, as the backend reads it; aclnn also
                 aclsysGetVersionStr("runtime")), driver (aclsysGetVersionStr("driver"), else
                 /usr/local/Ascend/driver/version.info; torch-npu: get_cann_version("DRIVER")), torch_npu
  devices        the visible device count (aclnn: aclrtGetDeviceCount; torch-npu: torch_npu.npu.device_count()),
                 with ASCEND_RT_VISIBLE_DEVICES, and that every --devices id is visible
  communicator   world sizes 1 and 2: a rank group of the backend opens its devices and builds its communicator
                 (RankEngine.open_group; aclnn: HcclGetRootInfo, HcclCommInitRootInfo, HcclGetCommName)
  case           per registered operator (conformance.operators) and world size 1 and 2: its smallest valid case
                 (`tiny_case`: the smallest valid, executed, non-rejecting case of the smallest profile that has one
                 the backend can express), judged by conformance.judge.run_case
  signoff        what this node can sign off: the world sizes its devices allow whose communicator worked, and the
                 operators whose tiny cases passed
Sources of the version and device facts: hicann/runtime@681ef761 README.md:152-153 (ascend_toolkit_install.info),
docs/zh/api_ref/24_other_APIs.md:759, :792, :798 (aclsysGetVersionStr; "driver" names the driver package),
docs/zh/api_ref/04_device_management.md:484 (aclrtGetDeviceCount) and docs/zh/env_vars/ASCEND_RT_VISIBLE_DEVICES.md:10
(the count is of the visible devices, re-indexed from 0); Ascend/pytorch@9e73e708 .github/workflows/
_build-and-test.yml:33 (/usr/local/Ascend/driver/version.info). Each problem is one line naming what to fix.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import casegen, operators
from .casegen.model import PROFILES

OK, PROBLEM, SKIPPED = "ok", "problem", "skipped"
COMMUNICATOR_WORLD_SIZES = (1, 2)
# The largest case (elements over all ranks, Case.cost) doctor's tiny-case check considers. Each candidate is
# materialised to ask the backend whether it can run it; where it can run none (torch-npu without MindSpeed: no
# MARN at all), the catalogue's world-size-2 cases reach billions of elements, minutes and many GB each, which
# looked like a hang. The suite's tiny cases are a few thousand elements; this leaves ample room.
TINY_CASE_MAX_COST = 1 << 22
SUITE_WORLD_SIZES = (1, 2, 4, 8)
DRIVER_VERSION_FILE = Path("/usr/local/Ascend/driver/version.info")
BACKENDS = ("aclnn", "torch-npu")


@dataclass
class Check:
    name: str  # "libraries", "communicator w=2", "case QuantMatmulAllReduceV3 w=1", ...
    status: str  # OK, PROBLEM or SKIPPED
    summary: str  # one line: what was found
    details: tuple[str, ...] = ()  # what was found, one item a line (paths, symbols)
    fix: str = ""  # PROBLEM: one line naming what to fix
    data: dict = field(default_factory=dict)  # for the later checks and for tests

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass
class Node:
    """What the checks learnt, for the checks after them."""
    backend_name: str
    devices: list[int] | None = None  # --devices, else None (rank r on device r)
    env: dict = field(default_factory=lambda: dict(os.environ))
    backend: object = None
    api: object = None  # aclnn: the loaded abi.Api
    device_count: int | None = None
    communicators: dict[int, bool] = field(default_factory=dict)
    cases: dict[tuple[str, int], bool] = field(default_factory=dict)
    twin: object = None  # the CANN twin (conformance.twin.Twin) the checks run on, or None: this node's CANN
    found_missing: tuple = ()  # what the same twin's tree lacked before prepare() rewrote it (twin.locate)


def twin_env(backend_name: str, twin, base: dict | None = None) -> dict:
    """The node's environment on the twin: the runner's plus the twin's (backend_setup.runner_env); for aclnn also
    the twin's library folder as MC2_ACLNN_LIB_DIR, where the library checks below look."""
    from .backend_setup import runner_env
    from .backends.aclnn.libs import LIB_DIR_ENV
    env = runner_env(twin, base)
    if backend_name == "aclnn":
        env[LIB_DIR_ENV] = str(twin.lib_dir)
    return env


def check_twin(node: Node) -> Check:
    """The twin's install tree is whole (Twin.missing()); a missing piece is named, and the later checks run on,
    so the backend's own check names it too."""
    twin = node.twin
    facts = twin.describe()
    where = f"{twin.home} (revision {twin.revision})"
    missing = list(twin.missing())
    repaired = [m for m in node.found_missing if m not in missing]
    if repaired:  # prepare() has rewritten them since: the cache is being damaged by something else
        return Check("twin", PROBLEM, f"the CANN twin at {where} was not whole: {'; '.join(repaired + missing)} "
                                      f"(doctor's prepare rewrote {len(repaired)} of them)",
                     tuple(repaired + missing),
                     fix=f"find what deletes files under {twin.home} (the twin's cache); delete {twin.home.parent} "
                         f"and run `mc2-conformance doctor --twin` again to rebuild it")
    if missing:
        return Check("twin", PROBLEM, f"the CANN twin at {where} is not whole: {'; '.join(missing)}", tuple(missing),
                     fix=f"rebuild the twin: delete {twin.home.parent} and run `mc2-conformance doctor --twin` "
                         f"again (the twin is built anew when its cache is gone)")
    details = tuple(f"{name}  {path}" for name, path in twin.libraries.items())
    from .backend_setup import twin_target
    return Check("twin", OK, f"{twin_target()} at {where}: {len(twin.libraries)} libraries, not hardware", details,
                 data={"facts": facts})


# --- the checks -------------------------------------------------------------------------------------------

def check_cann(node: Node) -> Check:
    home = node.env.get("ASCEND_HOME_PATH")
    lib_dir = node.env.get("MC2_ACLNN_LIB_DIR") if node.backend_name == "aclnn" else None
    if not home and not lib_dir:
        return Check("cann", PROBLEM, "no CANN on this node: ASCEND_HOME_PATH is not set",
                     fix="install CANN and source its set_env.sh (e.g. /usr/local/Ascend/ascend-toolkit/set_env.sh), "
                         "which sets ASCEND_HOME_PATH")
    if home and not Path(home).is_dir():
        return Check("cann", PROBLEM, f"no CANN on this node: ASCEND_HOME_PATH={home} is not a directory",
                     fix="source the set_env.sh of the installed CANN (ASCEND_HOME_PATH points at nothing)")
    where = f"ASCEND_HOME_PATH={home}" if home else f"MC2_ACLNN_LIB_DIR={lib_dir}"
    return Check("cann", OK, where, data={"home": home})


def check_libraries(node: Node, make_backend: Callable[[str], object]) -> Check:
    """aclnn: the layout and paths (libs.find_layout), then the backend; torch-npu: the backend's start-up check."""
    from .backends import BackendError
    details: list[str] = []
    if node.backend_name == "aclnn":
        from .backends.aclnn import libs
        try:
            found = libs.find_layout(node.env.get(libs.LIB_DIR_ENV))
        except BackendError as exc:
            return Check("libraries", PROBLEM, str(exc), fix=_fix_libraries(str(exc)))
        details = [f"{name}  {path}" for name, path in found.paths.items()]
        details += [f"{name}  {path}  (present, not loaded: {libs.SPLIT_RULE})" for name, path in found.skipped.items()]
        hcomm = "libhcomm.so" if "libhcomm.so" in found.paths else "no libhcomm.so (communicator calls from libhccl.so)"
        summary = f"{found.layout} layout, {hcomm}, {len(found.paths)} libraries"
    try:
        node.backend = make_backend(node.backend_name)
    except BackendError as exc:
        return Check("libraries", PROBLEM, str(exc), tuple(details), fix=_fix_libraries(str(exc)))
    if node.backend_name != "aclnn":
        versions = getattr(node.backend, "capabilities", {}).get("versions", {})
        details = [f"{k} {v}" for k, v in versions.items()]
        summary = ", ".join(details) or "the backend started"
    return Check("libraries", OK, summary, tuple(details))


def _fix_libraries(message: str) -> str:
    if "torch" in message and "not installed" in message:
        return "pip install torch and torch-npu (the Ascend PyTorch adapter matching torch) in this environment"
    if "import torch, torch_npu" in message:
        return "make `python -c 'import torch, torch_npu'` work: source CANN's set_env.sh, match torch-npu to torch"
    missing = message.removeprefix("aclnn backend: ").split(" not found")[0] if " not found" in message else ""
    if missing and "looked at" in message:
        return f"install the CANN packages that ship {missing}, or point MC2_ACLNN_LIB_DIR at the lib64 that holds them"
    return "install the CANN toolkit and operator packages, and source its set_env.sh (LD_LIBRARY_PATH)"


def check_symbols(node: Node) -> Check:
    from .backends import BackendError
    from .backends.aclnn import abi, libs
    try:
        loaded = libs.load(node.env.get(libs.LIB_DIR_ENV))
        node.api = abi.Api(loaded)
    except BackendError as exc:
        return Check("symbols", PROBLEM, str(exc), fix="install the CANN version this suite's prototypes come from, "
                                                       "or one whose libraries export every symbol above")
    by_lib: dict[str, list[str]] = {}
    for symbol, lib in loaded.origin.items():
        by_lib.setdefault(lib, []).append(symbol)
    details = [f"{lib} ({loaded.paths[lib]}): {', '.join(sorted(names))}" for lib, names in by_lib.items()]
    missing = sorted(set(abi.OPTIONAL) - set(loaded.origin))
    summary = f"{len(abi.PROTOTYPES)} symbols found in {len(by_lib)} libraries"
    if missing:
        summary += f"; optional, not found: {', '.join(missing)}"
    return Check("symbols", OK, summary, tuple(details), data={"origin": dict(loaded.origin)})


def _version_str(api, package: str) -> str:
    fn = getattr(api, "aclsysGetVersionStr", None)
    if fn is None:
        return ""
    buf = ctypes.create_string_buffer(128)  # ACL_PKG_VERSION_MAX_SIZE
    return buf.value.decode(errors="replace") if fn(package.encode(), buf) == 0 else ""


def _read_version_file(path: Path) -> str:
    try:
        for line in path.read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "version" and value.strip():
                return value.strip()
    except OSError:
        pass
    return ""


def check_versions(node: Node, facts: dict | None = None, driver_file: Path = DRIVER_VERSION_FILE) -> Check:
    """CANN, driver and torch_npu versions (module docstring: where each is read)."""
    from .backends.aclnn.backend import cann_version
    home = node.env.get("ASCEND_HOME_PATH")
    found = cann_version(Path(home)) if home else None
    details, problems = [], []
    if found:
        details.append(f"CANN {found[0]}  ({found[1]})")
    elif facts and facts.get("cann"):
        details.append(f"CANN {facts['cann']}  (torch_npu get_cann_version)")
    else:
        problems.append(("CANN version not found",
                         f"no version file under {home or '$ASCEND_HOME_PATH'} (ascend_toolkit_install.info): "
                         f"reinstall the toolkit, or pass --cann-version to `run`"))
    runtime = _version_str(node.api, "runtime") if node.api else ""
    if runtime:
        details.append(f"runtime {runtime}  (aclsysGetVersionStr)")
    driver = _version_str(node.api, "driver") if node.api else (facts or {}).get("driver", "")
    how = "aclsysGetVersionStr" if node.api else "torch_npu get_cann_version"
    if not driver:
        driver, how = _read_version_file(driver_file), str(driver_file)
    if driver:
        details.append(f"driver {driver}  ({how})")
    elif node.api is None and facts is None:  # the symbols or the device query failed: that is the problem
        details.append("driver not known")
    elif node.twin is not None:  # the twin has no NPU, so no driver: nothing to install
        details.append("no driver  (the CANN twin runs on the CPU)")
    else:
        problems.append(("driver version not found", f"install the NPU driver ({driver_file} is missing)"))
    if facts and facts.get("torch_npu"):
        details.append(f"torch_npu {facts['torch_npu']}")
    else:
        try:
            details.append(f"torch_npu {importlib.metadata.version('torch-npu')}")
        except importlib.metadata.PackageNotFoundError:
            details.append("torch_npu not installed")
    summary = "; ".join(d.split("  (")[0] for d in details)
    if problems:
        return Check("versions", PROBLEM, f"{problems[0][0]}; {summary}", tuple(details), fix=problems[0][1])
    return Check("versions", OK, summary, tuple(details), data={"cann": found[0] if found else facts.get("cann")})


def node_facts(node: Node) -> tuple[dict | None, str]:
    """torch-npu: the seam's node facts (devices, CANN, driver, torch_npu), or (None, error)."""
    from .backends import BackendError, import_attr
    backend = node.backend
    seam = import_attr(backend.seam)
    ask = getattr(seam, "node_facts", None)
    if ask is None:
        return None, f"the seam {backend.seam} cannot report the node"
    try:
        return ask(env=backend.env, **backend.seam_options), ""
    except BackendError as exc:
        return None, str(exc)


def check_devices(node: Node, facts: dict | None = None, facts_error: str = "") -> Check:
    visible = node.env.get("ASCEND_RT_VISIBLE_DEVICES")
    shown = "ASCEND_RT_VISIBLE_DEVICES unset" if visible is None else f"ASCEND_RT_VISIBLE_DEVICES={visible}"
    if node.api is not None:
        count, code = _acl_device_count(node.api)
        if code:
            return Check("devices", PROBLEM, f"aclrtGetDeviceCount returned {code}",
                         fix="check the NPU driver (`npu-smi info`) and that this user may open the devices")
    elif facts is not None:
        count = int(facts["devices"])
    else:
        return Check("devices", PROBLEM, facts_error or "the device count could not be read",
                     fix="check the NPU driver (`npu-smi info`) and the torch_npu install")
    node.device_count = count
    if count == 0:
        return Check("devices", PROBLEM, f"0 devices visible ({shown})",
                     fix="no NPU is visible: check `npu-smi info`, the driver, and ASCEND_RT_VISIBLE_DEVICES")
    if node.devices is not None:
        beyond = [d for d in node.devices if d >= count]
        if beyond:
            return Check("devices", PROBLEM, f"{count} devices visible ({shown}), --devices asks for {beyond}",
                         fix=f"pass --devices ids below {count} (visible devices are re-indexed from 0)")
    return Check("devices", OK, f"{count} visible ({shown})", data={"count": count})


def _acl_device_count(api) -> tuple[int, int]:
    """(count, 0) or (0, status): aclInit (unless already up), aclrtGetDeviceCount, aclFinalize."""
    from .backends.aclnn import abi
    code = api.aclInit(None)
    initialised = code == 0
    if code not in (0, abi.ACL_ERROR_REPEAT_INITIALIZE):
        return 0, code
    try:
        count = ctypes.c_uint32()
        code = api.aclrtGetDeviceCount(ctypes.byref(count))
        return (0, code) if code else (int(count.value), 0)
    finally:
        if initialised:
            api.aclFinalize()


def _engine_of(backend):
    engine = getattr(backend, "engine", None)
    if engine is None and hasattr(backend, "_engine_for_runs"):
        engine = backend._engine_for_runs()
    return engine


def _devices_for(node: Node, world_size: int) -> tuple[int, ...]:
    return tuple(node.devices[:world_size]) if node.devices is not None else ()


def _usable(node: Node, world_size: int) -> str:
    """Why world size `world_size` cannot be checked here ("" if it can)."""
    have = len(node.devices) if node.devices is not None else (node.device_count or 0)
    return f"needs {world_size} devices, {have} available" if world_size > have else ""


def check_communicator(node: Node, world_size: int) -> Check:
    from .protocol import RankFailure
    name = f"communicator w={world_size}"
    why = _usable(node, world_size)
    if why:
        return Check(name, SKIPPED, why)
    engine = _engine_of(node.backend)
    t0 = time.perf_counter()
    try:
        engine.open_group(world_size, _devices_for(node, world_size))
    except RankFailure as exc:
        node.communicators[world_size] = False
        return Check(name, PROBLEM, f"set-up failed: {exc.detail}",
                     (exc.last_output,) if exc.last_output.strip() else (),
                     fix=f"the ranks could not open their devices or build an HCCL communicator of {world_size}: "
                         f"check HCCL (HCCL_WHITELIST_DISABLE=1, the devices' network with `hccn_tool`) and the "
                         f"rank's output above")
    node.communicators[world_size] = True
    devices = _devices_for(node, world_size) or tuple(range(world_size))
    return Check(name, OK, f"set up on devices {', '.join(map(str, devices))} in {time.perf_counter() - t0:.1f} s")


def tiny_case(op: str, world_size: int, backend) -> tuple[object | None, str]:
    """(the smallest valid case of `op` at `world_size` the backend can run, "") or (None, why not): valid,
    executed (not shape-only), not a rejection, at most TINY_CASE_MAX_COST elements, in the smallest profile that
    has one, fewest elements first."""
    from .casegen.inputs import materialise
    candidates = [c for c in casegen.catalogue()
                  if c.op == op and c.world_size == world_size and c.kind == "valid" and not c.shape_only
                  and not c.rejects and c.origin == "catalogue" and not _has_empty_tensor(c)
                  and c.cost <= TINY_CASE_MAX_COST]
    candidates.sort(key=lambda c: (PROFILES.index(c.profile), c.cost, c.id))
    reason = (f"the catalogue has no valid case of {op} at world size {world_size} of at most "
              f"{TINY_CASE_MAX_COST} elements")
    for case in candidates:
        reason = backend.unsupported_reason(materialise(case, 0))
        if not reason:
            return case, ""
    return None, reason


def _has_empty_tensor(case) -> bool:
    """An empty case proves little: aclnn may return before launching anything."""
    return any(spec is not None and 0 in spec.shape for _, spec in case.tensors)


def check_case(node: Node, op: str, world_size: int,
               pick: Callable[[str, int, object], tuple[object | None, str]] | None = None) -> Check:
    from .backends import BackendError
    from .context import Context
    from .judge import run_case
    from .protocol import RankFailure
    name = f"case {op} w={world_size}"
    why = _usable(node, world_size) or ("" if node.communicators.get(world_size) else "no communicator")
    if why:
        return Check(name, SKIPPED, why)
    case, reason = (pick or tiny_case)(op, world_size, node.backend)
    if case is None:
        return Check(name, SKIPPED, f"no tiny case this backend can run: {reason}")
    on_twin = f" --twin --twin-revision {node.twin.revision}" if node.twin is not None else ""
    repro = f"mc2-conformance repro {case.id} --backend {node.backend_name}{on_twin}"
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # a wrong answer may be NaN: judged, not warned
            warnings.simplefilter("ignore", RuntimeWarning)
            outcome = run_case(case, node.backend, Context(backend=node.backend_name),
                               devices=_devices_for(node, world_size))
    except (BackendError, RankFailure, ValueError, RuntimeError) as exc:
        node.cases[(op, world_size)] = False
        return Check(name, PROBLEM, f"{case.id}: {str(exc).splitlines()[0]}",
                     fix=f"the backend could not run {op}: see `{repro}`")
    node.cases[(op, world_size)] = outcome.passed
    if outcome.passed:
        return Check(name, OK, f"{case.id}: {outcome.category} in {outcome.seconds:.2f} s")
    first = outcome.failures[0].message if outcome.failures else outcome.detail
    return Check(name, PROBLEM, f"{case.id}: {outcome.category}: {first.splitlines()[0] if first else ''}".rstrip(": "),
                 fix=f"{op} gives a wrong answer on this node: `{repro}` prints every check")


def check_signoff(node: Node) -> Check:
    have = len(node.devices) if node.devices is not None else (node.device_count or 0)
    checked = sorted(node.communicators)
    sizes = [w for w in SUITE_WORLD_SIZES if w <= have and all(node.communicators[c] for c in checked if c <= w)]
    ops = [op.name for op in operators.all_operators()
           if any(k[0] == op.name for k in node.cases) and all(v for k, v in node.cases.items() if k[0] == op.name)]
    summary = (f"world sizes {', '.join(map(str, sizes)) or 'none'}; "
               f"operators {', '.join(ops) or 'none'}")
    if node.twin is not None:  # the twin stands in for a node: what passes here is no hardware sign-off
        from .backend_setup import twin_target
        summary += f"; on the {twin_target()}: not a hardware sign-off"
    unchecked = [w for w in sizes if w not in checked]
    plural = len(unchecked) > 1
    details = (f"world size{'s' if plural else ''} {', '.join(map(str, unchecked))} follow{'' if plural else 's'} "
               f"from the device count; communicators were set up here at {', '.join(map(str, checked))} only",) \
        if unchecked else ()
    if not sizes or not ops:
        return Check("signoff", PROBLEM, summary, details, fix="nothing can be signed off here: fix the problems above",
                     data={"world_sizes": sizes, "operators": ops})
    return Check("signoff", OK, summary, details, data={"world_sizes": sizes, "operators": ops})


# --- all of them --------------------------------------------------------------------------------------------

def default_backend(deadline_s: float = 120.0, twin=None) -> Callable[[str], object]:
    """The backend of a name, on `twin` where given (its environment and libraries, backend_setup)."""
    def make(name: str):
        from .backend_setup import hardware_options
        from .backends import load_backend
        return load_backend(name, deadline_s=deadline_s,
                            hardware_options=hardware_options(name, twin) if twin is not None else None)
    return make


def run_checks(backend_name: str, devices: list[int] | None = None, *, make_backend: Callable | None = None,
               pick=None, env: dict | None = None, driver_file: Path = DRIVER_VERSION_FILE,
               on_check: Callable[[Check], None] = lambda c: None, twin=None, found_missing=()) -> list[Check]:
    """Every check in order (`on_check` sees each as it is done); stops after `cann` when there is no CANN, and
    after `libraries` / `symbols` / `devices` when later checks have nothing to run on. `pick` chooses each
    operator's case (default `tiny_case`). `twin`: check the CANN twin (conformance.twin.Twin) and run every
    check on it (its environment added to `env`); `found_missing`: what its tree lacked before prepare()
    (twin.locate), so that a piece prepare() had to rewrite is named. Closes the backend it made."""
    base = dict(os.environ if env is None else env)
    node = Node(backend_name, devices, twin_env(backend_name, twin, base) if twin is not None else base, twin=twin,
                found_missing=tuple(found_missing))
    make_backend = make_backend or default_backend(twin=twin)
    checks: list[Check] = []

    def add(check: Check) -> Check:
        checks.append(check)
        on_check(check)
        return check

    if twin is not None:
        add(check_twin(node))  # a missing piece is named here, and again by the check that trips on it
    if not add(check_cann(node)).ok:
        return checks
    try:
        if not add(check_libraries(node, make_backend)).ok:
            return checks
        facts, facts_error = None, ""
        if backend_name == "aclnn":
            if not add(check_symbols(node)).ok:
                add(check_versions(node, None, driver_file))
                return checks
        else:
            facts, facts_error = node_facts(node)
        add(check_versions(node, facts, driver_file))
        if not add(check_devices(node, facts, facts_error)).ok:
            return checks
        for w in COMMUNICATOR_WORLD_SIZES:  # the group the communicator check sets up runs that size's cases
            add(check_communicator(node, w))
            for op in operators.all_operators():
                add(check_case(node, op.name, w, pick))
        add(check_signoff(node))
        return checks
    finally:
        close = getattr(node.backend, "close", None)
        if close:
            close()
