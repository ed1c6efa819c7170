"""The backend a run's context names, set up where it runs: on the CANN twin (CPU) when the context asks for it
(--twin), else as `backends.load_backend` makes it. One place for the commands (run, repro, fuzz, doctor) and the
pytest plugin, so a twin run always reaches its backend with the twin's environment and libraries, and its
environment facts always name the twin as the target (never the hardware).

The twin itself is conformance/twin (prepare, Twin, TwinError, TARGET_TWIN), imported only when a run asks for it.
"""

from __future__ import annotations

import os
from typing import Callable

from .backends import BackendError, load_backend

TWIN_REVISION_FACT = "twin revision"  # the environment fact of a twin run naming the revision it modelled
BUILDING = "building the CANN twin (reused from its cache when its sources have not changed) ..."
# environment variables that are search paths: the twin's entries go first, the runner's stay after them (a
# node with a real CANN sourced keeps its LD_LIBRARY_PATH, but the twin's libraries are found first)
SEARCH_PATHS = ("LD_LIBRARY_PATH", "PATH", "PYTHONPATH")


def prepare_twin(context, *, progress: Callable[[str], None] | None = print):
    """The twin of a context with --twin (built if needed), else None; a twin that cannot be built is a
    one-line BackendError naming what is missing (TwinError's line)."""
    if not context.twin:
        return None
    from . import twin
    if progress is not None:
        progress(f"mc2-conformance: {BUILDING}")
    try:
        prepared = twin.prepare(revision=context.twin_revision)
    except (twin.TwinError, OSError) as exc:  # OSError: its cache or install tree could not be written
        raise BackendError(f"--twin: the CANN twin is not available: {exc}") from None
    if progress is not None:
        built = getattr(prepared, "build_seconds", 0.0)  # the twin's own report of a fresh build (0: cached)
        progress(f"mc2-conformance: CANN twin (revision {prepared.revision}) at {prepared.home}"
                 + (f", built in {built:.1f} s" if built else ", cached build"))
    return prepared


def runner_env(twin, base: dict | None = None) -> dict[str, str]:
    """The rank processes' environment on the twin: the runner's (`base`, default this process's) plus the twin's
    additions; search paths (SEARCH_PATHS) keep the runner's entries after the twin's."""
    env = dict(os.environ if base is None else base)
    for name, value in twin.env.items():
        before = env.get(name)
        if name in SEARCH_PATHS and before and value:
            kept = [p for p in before.split(os.pathsep) if p and p not in value.split(os.pathsep)]
            value = os.pathsep.join([value, *kept])
        env[name] = value
    return env


def hardware_options(backend: str, twin) -> dict:
    """The constructor arguments that put hardware backend `backend` on the twin: the rank processes'
    environment, and for the aclnn backend (which locates the libraries in the runner's process) the library
    folder."""
    options: dict = {"env": runner_env(twin)}
    if backend == "aclnn":
        options["lib_dir"] = str(twin.lib_dir)
    return options


def load(context, *, twin=None, deadline_s: float | None = None):
    """The context's backend (faults, simulator paths, busy cores as the context says), on `twin` where given
    (prepare_twin's)."""
    return load_backend(context.backend, faults=context.faults, sim_options=context.sim_options,
                        deadline_s=deadline_s, busy_cores=context.busy_cores,
                        hardware_options=hardware_options(context.backend, twin) if twin is not None else None)


def twin_target() -> str:
    """The twin's target name, as reports and the console say it (conformance.twin.TARGET_TWIN)."""
    from .twin import TARGET_TWIN
    return TARGET_TWIN


def environment(backend, twin=None) -> dict[str, str]:
    """The environment facts of a run's reports: the backend's describe(), and on the twin the twin's own facts
    (a fact the backend also states with another value keeps the backend's; the twin's is added as
    'twin <name>') with the target set to the twin's, so no report of a twin run reads as hardware."""
    facts = dict(backend.describe())
    if twin is None:
        return facts
    for name, value in twin.describe().items():
        if name != "target" and facts.get(name) != str(value):
            facts[f"twin {name}" if name in facts else name] = str(value)
    facts[TWIN_REVISION_FACT] = twin.revision  # what the twin modelled; `run --replay` reruns on the same
    facts["target"] = twin_target()
    return facts


def close(backend) -> None:
    """Stop a backend's rank worker processes, where it has any."""
    stop = getattr(backend, "close", None)
    if callable(stop):
        stop()
