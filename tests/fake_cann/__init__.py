"""Build the recording fake CANN (fake_cann.c) and lay it out as an $ASCEND_HOME_PATH, for the aclnn backend's
marshalling tests. No pytest here: `build(tmp_dir)` returns the fake home, or raises `NoCompiler`.

Layout: <home>/lib64/{libascendcl,libnnopbase,libopapi,libhccl}.so, all symlinks to one libfake_cann.so, and
<home>/version.cfg, so the backend finds everything exactly as it would in a CANN install.
`read_log(path)` parses the JSON-lines call log the library writes to $FAKE_CANN_LOG.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).with_name("fake_cann.c")
LIB_NAMES = ("libascendcl.so", "libnnopbase.so", "libopapi.so", "libhccl.so")
VERSION = "Version=8.0.fake\n"


class NoCompiler(RuntimeError):
    pass


def build(tmp_dir: Path) -> Path:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise NoCompiler("no C compiler (cc, gcc or clang) on PATH to build tests/fake_cann/fake_cann.c")
    home = Path(tmp_dir) / "ascend"
    lib64 = home / "lib64"
    lib64.mkdir(parents=True, exist_ok=True)
    so = lib64 / "libfake_cann.so"
    proc = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(so), str(SOURCE), "-lpthread"],
                          capture_output=True, text=True)
    if proc.returncode:
        raise NoCompiler(f"{cc} failed to build {SOURCE.name}: {proc.stderr.strip()[-500:]}")
    for name in LIB_NAMES:
        (lib64 / name).symlink_to(so.name)
    (home / "version.cfg").write_text(VERSION)
    return home


def read_log(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
