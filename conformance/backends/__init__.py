"""Backend selection by one setting: a built-in name or an import path `package.module:attr`."""

from __future__ import annotations

import importlib

BUILTIN = ("sim", "sim-process", "sim-cann", "torch-cpu", "aclnn", "torch-npu")
_BUILTIN_PATHS = {
    "torch-cpu": "conformance.backends.torch_cpu:TorchCpuBackend",
    "aclnn": "conformance.backends.aclnn.backend:AclnnBackend",
    "torch-npu": "conformance.backends.torch_npu_backend:TorchNpuBackend",
}
# backends whose ranks run on the rank engine accept its per-invocation deadline; the hardware ones among them
# keep AI cores busy on request (--busy-cores, conformance/backends/busy.py)
_TAKES_DEADLINE = ("aclnn", "torch-npu")
HARDWARE = ("aclnn", "torch-npu")


from ..importing import import_attr  # noqa: E402,F401  (re-exported for backends)


def binding_of(op: str, kind: str):
    """Backend `kind`'s binding of operator `op`, from the operator's record (`Operator.bindings`); None where the
    record names none for that backend, or no record describes `op`."""
    from .. import operators
    try:
        record = operators.get(op)
    except operators.UnknownOperator:
        return None
    return record.binding(kind)


class BackendError(Exception):
    """Bad backend selection; the message is one line, fit for a command-line error."""


def load_backend(spec: str, *, faults=(), sim_options: dict | None = None, deadline_s: float | None = None,
                 busy_cores: int = 0, hardware_options: dict | None = None):
    """A built-in name or `package.module:attr`, where attr is a backend object or a zero-argument factory.
    `deadline_s` is the per-invocation deadline of backends that run their ranks in worker processes;
    `busy_cores` (--busy-cores) the AI cores a hardware backend's ranks keep busy during each call;
    `hardware_options` more keyword arguments of a hardware backend's constructor (the CANN twin's environment and
    library folder: conformance/backend_setup.py)."""
    if deadline_s is not None and deadline_s <= 0:
        raise BackendError(f"--rank-deadline {deadline_s}: expected a positive number of seconds")
    if hardware_options and spec not in HARDWARE:
        raise BackendError(f"backend {spec!r} is not a hardware backend ({', '.join(HARDWARE)}): it takes no "
                           f"{', '.join(sorted(hardware_options))}")
    if busy_cores:
        from .busy import BusyCoresError, check_cores
        try:
            check_cores(busy_cores)
        except BusyCoresError as exc:
            raise BackendError(str(exc)) from None
        if spec not in HARDWARE:
            raise BackendError(f"--busy-cores applies only to the hardware backends ({', '.join(HARDWARE)}); "
                               f"backend {spec!r} has no AI cores to keep busy: drop it or set it to 0")
    if spec in ("sim", "sim-process"):
        from ..sim import SimOptions, SimulatorBackend
        try:
            if spec == "sim":
                engine_faults = [f for f in faults if f.split(":")[0] in ("rank-hangs", "rank-dies")]
                if engine_faults:
                    raise ValueError(f"fault {engine_faults[0]!r} needs ranks in processes: use --backend sim-process")
                if (sim_options or {}).get("cann_revision"):
                    raise ValueError("--sim-cann-revision applies only to --backend sim-cann")
                return SimulatorBackend(faults=faults, options=SimOptions(**(sim_options or {})))
            from ..sim.process_backend import SimProcessBackend
            if (sim_options or {}).get("cann_revision"):
                raise ValueError("--sim-cann-revision applies only to --backend sim-cann")
            return SimProcessBackend(faults=faults, options=SimOptions(**(sim_options or {})),
                                     **({"deadline_s": deadline_s} if deadline_s else {}))
        except ValueError as exc:
            raise BackendError(f"--backend {spec}: {exc}") from None
    if faults:
        raise BackendError(f"--fault applies only to the simulator, not to backend {spec!r}")
    if spec == "sim-cann":
        from ..sim.cann.backend import CannOptions, SimCannBackend
        from ..sim.cann.revisions import UnknownRevision
        opts = dict(sim_options or {})
        revision = opts.pop("cann_revision", None)
        paths = sorted(k for k in opts if k != "allreduce_accumulation")
        if paths:
            raise BackendError(f"--backend sim-cann takes its numeric paths from the published source; "
                               f"drop the simulator path option(s) {', '.join(paths)}")
        try:
            return SimCannBackend(CannOptions(**opts, **({"revision": revision} if revision else {})))
        except UnknownRevision as exc:
            raise BackendError(f"--sim-cann-revision: {exc}") from None
    name, spec = spec, _BUILTIN_PATHS.get(spec, spec)
    kwargs = {"deadline_s": deadline_s} if name in _TAKES_DEADLINE and deadline_s else {}
    if busy_cores:
        kwargs["busy_cores"] = busy_cores
    kwargs.update(hardware_options or {})
    return _construct(spec, **kwargs)


def _construct(spec: str, **kwargs):
    if ":" not in spec:
        raise BackendError(f"unknown backend {spec!r}: expected one of {', '.join(BUILTIN)} "
                           f"or an import path 'package.module:attr'")
    module_name, attr = spec.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(f"backend {spec!r}: cannot import {module_name!r} ({exc})") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise BackendError(f"backend {spec!r}: module {module_name!r} has no attribute {attr!r}") from None
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "invoke")):
        try:
            backend = obj(**kwargs)
        except BackendError:  # already one line, e.g. missing vendor libraries
            raise
        except Exception as exc:  # a factory that needs arguments, or fails to start its device
            raise BackendError(f"backend {spec!r}: calling {attr}() failed: {type(exc).__name__}: {exc}") from None
    else:
        backend = obj
    missing = [m for m in ("name", "describe", "unsupported_reason", "invoke") if not hasattr(backend, m)]
    if missing:
        raise BackendError(f"backend {spec!r} lacks {', '.join(missing)} (see the backend protocol in README)")
    return backend
