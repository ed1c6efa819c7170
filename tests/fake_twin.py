"""A stand-in for `conformance.twin.prepare` over the recording fake CANN (tests/fake_cann): the twin's plumbing in
the command line, the pytest plugin, doctor and the reports, tested without building the twin.

It answers what interface.md fixes for a Twin (home, lib_dir, libraries, env, revision, describe(), missing()),
with the fake CANN's install tree as the twin's. `env` carries FAKE_CANN_LOG, so the fake's call log proves the
twin's environment reached the rank processes (the runner's own environment does not name the log).

Used two ways: `install(monkeypatch, home=...)` in a test's own process, and as a pytest plugin (`-p fake_twin`)
in a pytest subprocess (`mc2-conformance run ... -- -p fake_twin`), where it installs itself at import from
FAKE_TWIN_HOME (and FAKE_TWIN_LOG).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TARGET_TWIN = "CANN twin (CPU)"  # interface.md: the report target string of a twin run


class FakeTwinError(Exception):
    """conformance.twin.TwinError, where the real twin is not (yet) in the package."""


@dataclass
class FakeTwin:
    home: Path
    revision: str
    log: Path | None = None
    expected: dict[str, Path] = field(default_factory=dict)  # the install tree's libraries when it was made

    def __post_init__(self):
        self.expected = self.expected or {p.name: p for p in sorted(self.lib_dir.iterdir()) if p.suffix == ".so"}

    @property
    def lib_dir(self) -> Path:
        return self.home / "lib64"

    @property
    def libraries(self) -> dict[str, Path]:
        return dict(self.expected)

    @property
    def env(self) -> dict[str, str]:
        env = {"ASCEND_HOME_PATH": str(self.home), "MC2_TWIN_REVISION": self.revision,
               "LD_LIBRARY_PATH": str(self.lib_dir)}
        if self.log is not None:
            env["FAKE_CANN_LOG"] = str(self.log)
        return env

    def describe(self) -> dict[str, str]:
        return {"node": TARGET_TWIN, "revision": self.revision, "torch_npu": "2.13.0 (fake twin)"}

    def missing(self) -> list[str]:
        return [name for name, path in self.expected.items() if not path.exists()]


def install(monkeypatch, *, home: Path, log: Path | None = None) -> list:
    """Patch conformance.twin so prepare() answers a FakeTwin over `home` (a fake CANN install tree); returns the
    list the revisions prepare() was asked for are appended to."""
    from conformance import twin
    from conformance.sim.cann.revisions import get
    asked: list = []
    lib_dir = Path(home) / "lib64"
    whole = {p.name: p for p in sorted(lib_dir.iterdir()) if p.suffix == ".so"}  # as built: what missing() expects

    def prepare(*, revision=None, cache_dir=None):
        asked.append(revision)
        return FakeTwin(Path(home), get(revision).name, log, dict(whole))

    monkeypatch.setattr(twin, "prepare", prepare, raising=False)
    monkeypatch.setattr(twin, "TARGET_TWIN", getattr(twin, "TARGET_TWIN", TARGET_TWIN), raising=False)
    monkeypatch.setattr(twin, "TwinError", getattr(twin, "TwinError", FakeTwinError), raising=False)
    return asked


class _Patcher:
    """monkeypatch's setattr, for the plugin use (the patch lives as long as the pytest process)."""

    @staticmethod
    def setattr(obj, name, value, raising=True):
        setattr(obj, name, value)


if os.environ.get("FAKE_TWIN_HOME"):  # loaded as a pytest plugin (-p fake_twin) by a test's subprocess
    install(_Patcher, home=Path(os.environ["FAKE_TWIN_HOME"]),
            log=Path(os.environ["FAKE_TWIN_LOG"]) if os.environ.get("FAKE_TWIN_LOG") else None)
