"""A CPU twin of a CANN node: fake CANN libraries, a generated install tree, runtime and HCCL over host and shared
memory, with the operators executed by the suite's device model (sim-cann). See values.py for the interface.

`prepare()` builds the library if needed (cached under a hash of its sources and the headers it compiles
against), lays out the install tree and returns a `Twin`: the fake ASCEND_HOME_PATH, the libraries, and the
environment a rank process needs. docs/cann-twin.md says what torch_npu needs of it and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TARGET_TWIN = "CANN twin (CPU)"  # the report target: a twin failure names the twin, never hardware
CACHE_ENV = "MC2_TWIN_CACHE"


class TwinError(Exception):
    """One line: what the twin lacks (a compiler, torch_npu's headers, a library of its tree)."""


@dataclass(frozen=True)
class Twin:
    home: Path  # the fake ASCEND_HOME_PATH
    lib_dir: Path
    libraries: dict[str, Path]  # every library name -> its path
    env: dict[str, str] = field(default_factory=dict)  # what a rank process adds to its environment
    revision: str = ""
    build_seconds: float = 0.0  # 0 when the cached build was used

    def describe(self) -> dict[str, str]:
        """Facts for a report header: what ran, never "hardware"."""
        return {"node": TARGET_TWIN, "target": TARGET_TWIN, "cann_home": str(self.home),
                "cann_version": self.env.get("MC2_TWIN_CANN_VERSION", ""), "sim_cann_revision": self.revision,
                "torch_npu": _installed_version("torch-npu")}

    def missing(self) -> list[str]:
        """What `doctor` reports when a piece of the tree was removed (empty when whole)."""
        from . import install_tree
        gone = [f"twin library {path} is missing" for path in self.libraries.values() if not path.is_file()]
        for sub in ("runtime", "compiler", "opp"):
            if not (self.home / sub).is_dir():
                gone.append(f"twin install tree lacks {self.home / sub} (torch_npu's package check needs it)")
        if not any((self.home / rel).is_file() for rel in install_tree.VERSION_FILES):
            gone.append(f"twin install tree lacks its version file ({self.home / install_tree.VERSION_FILES[0]})")
        return gone


def _installed_version(distribution: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def default_cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mc2-conformance" / "twin"


def _where(revision: str | None, cache_dir: Path | None):
    """(revision name, build dir, home, torch_npu's include dir, compiler) of a revision's twin in a cache;
    nothing is written."""
    from . import build
    from ..sim.cann import revisions

    try:
        rev = revisions.get(revision).name
    except Exception as exc:  # UnknownRevision: one line
        raise TwinError(str(exc)) from None
    try:
        include, cc = build.torch_npu_include(), build.compiler()
        key = build.source_hash(include, cc)
    except build.BuildError as exc:
        raise TwinError(str(exc)) from None
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    return rev, root / key / "build", root / key / f"home-{rev}", include, cc


def _twin(home: Path, rev: str, libraries: dict[str, Path], built: float = 0.0) -> Twin:
    from . import install_tree
    env = install_tree.environment(home, version=install_tree.cann_version_of(rev), revision=rev)
    return Twin(home=home, lib_dir=home / "lib64", libraries=libraries, env=env, revision=rev, build_seconds=built)


def locate(*, revision: str | None = None, cache_dir: Path | None = None) -> Twin | None:
    """The twin prepare() laid out for this revision and cache, as it is now (doctor sees a damaged tree before
    prepare() repairs it); None when it was never built. Writes nothing; TwinError (one line) as prepare()."""
    from . import build, install_tree
    rev, build_dir, home, _, _ = _where(revision, cache_dir)
    if not (build_dir / ".complete").is_file() or not home.is_dir():
        return None
    names = install_tree.library_names(build.LIBRARY)
    return _twin(home, rev, {name: home / "lib64" / name for name in names})


def prepare(*, revision: str | None = None, cache_dir: Path | None = None) -> Twin:
    """Build (or reuse) the twin and lay out its install tree (a file is rewritten only where it differs);
    TwinError (one line) when it cannot."""
    import time

    from . import build, install_tree

    rev, build_dir, home, include, cc = _where(revision, cache_dir)
    started, built = time.perf_counter(), 0.0
    twin_lib = build_dir / build.LIBRARY
    if not (build_dir / ".complete").is_file():
        try:
            _build_locked(build, install_tree, build_dir, include=include, cc=cc)
        except build.BuildError as exc:
            raise TwinError(str(exc)) from None
        built = time.perf_counter() - started
    version = install_tree.cann_version_of(rev)
    libraries = install_tree.write(home, build_dir=build_dir, twin_library=twin_lib, version=version)
    twin = _twin(home, rev, libraries, built)
    install_tree.write_set_env(home, twin.env)
    return twin


def _build_locked(build, install_tree, build_dir: Path, *, include: Path, cc: str) -> None:
    """Build once even when several processes (xdist workers) prepare at the same time."""
    import fcntl
    import shutil
    import tempfile

    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(build_dir.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (build_dir / ".complete").is_file():
            return
        tmp = Path(tempfile.mkdtemp(prefix="build-", dir=build_dir.parent))
        twin_lib = build.compile_library(tmp, include=include, cc=cc)
        for name in install_tree.LIBRARY_NAMES:
            build.link_stub(name, out_dir=tmp, twin=twin_lib, cc=cc)
        (tmp / ".complete").write_text("ok\n")
        if build_dir.exists():
            shutil.rmtree(build_dir)
        tmp.rename(build_dir)
