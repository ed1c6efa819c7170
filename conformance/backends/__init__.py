"""Backend selection by one setting: a built-in name or an import path `package.module:attr`."""

from __future__ import annotations

import importlib

BUILTIN = ("sim", "torch-cpu")


class BackendError(Exception):
    """Bad backend selection; the message is one line, fit for a command-line error."""


def load_backend(spec: str, *, faults=(), sim_options: dict | None = None):
    """`sim` or `package.module:attr`, where attr is a backend object or a zero-argument factory."""
    if spec == "sim":
        from ..sim import SimOptions, SimulatorBackend
        try:
            return SimulatorBackend(faults=faults, options=SimOptions(**(sim_options or {})))
        except ValueError as exc:
            raise BackendError(f"--backend sim: {exc}") from None
    if faults:
        raise BackendError(f"--fault applies only to the simulator, not to backend {spec!r}")
    if spec == "torch-cpu":
        spec = "conformance.backends.torch_cpu:TorchCpuBackend"
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
            backend = obj()
        except Exception as exc:  # a factory that needs arguments, or fails to start its device
            raise BackendError(f"backend {spec!r}: calling {attr}() failed: {type(exc).__name__}: {exc}") from None
    else:
        backend = obj
    missing = [m for m in ("name", "describe", "unsupported_reason", "invoke") if not hasattr(backend, m)]
    if missing:
        raise BackendError(f"backend {spec!r} lacks {', '.join(missing)} (see the backend protocol in README)")
    return backend
