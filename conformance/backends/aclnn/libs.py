"""Finding and loading the four CANN libraries, and resolving symbols from them (device-facts 6).

Where they are looked for: an explicit directory (the backend's `lib_dir` option, or $MC2_ACLNN_LIB_DIR), else
$ASCEND_HOME_PATH/lib64, $ASCEND_HOME_PATH/aarch64-linux/lib64, $ASCEND_HOME_PATH/x86_64-linux/lib64 (the
toolkit layouts). A missing library is a one-line BackendError naming every path looked at.

Which library exports aclCreateTensor (libnnopbase or libascendcl) is UNCONFIRMED, so a symbol is resolved
from its documented home library first, then from the others, and the library it came from is recorded.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import BackendError

LIBRARIES = ("libascendcl.so", "libnnopbase.so", "libopapi.so", "libhccl.so")  # load order: runtime first
LIB_DIR_ENV = "MC2_ACLNN_LIB_DIR"
HOME_SUBDIRS = ("lib64", "aarch64-linux/lib64", "x86_64-linux/lib64")


def search_dirs(lib_dir: str | os.PathLike | None = None) -> list[Path]:
    explicit = lib_dir or os.environ.get(LIB_DIR_ENV)
    if explicit:
        return [Path(explicit)]
    home = os.environ.get("ASCEND_HOME_PATH")
    if not home:
        raise BackendError("aclnn backend: no CANN libraries: ASCEND_HOME_PATH is not set "
                           f"(source <CANN>/set_env.sh) and no lib_dir / ${LIB_DIR_ENV} was given")
    return [Path(home) / sub for sub in HOME_SUBDIRS]


def find(lib_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Path of each library, first directory that has it wins."""
    dirs = search_dirs(lib_dir)
    found, missing = {}, []
    for name in LIBRARIES:
        hit = next((d / name for d in dirs if (d / name).exists()), None)
        if hit is None:
            missing.append(name)
        else:
            found[name] = hit
    if missing:
        looked = ", ".join(str(d / name) for name in missing for d in dirs)
        raise BackendError(f"aclnn backend: {', '.join(missing)} not found (looked at {looked})")
    return found


@dataclass
class Libraries:
    paths: dict[str, Path]
    handles: dict[str, ctypes.CDLL]
    origin: dict[str, str] = field(default_factory=dict)  # symbol -> the library it was resolved from

    def resolve(self, symbol: str, home: str):
        """A fresh function pointer (so prototypes set on it stay ours) from `home`, else the first other
        library that exports it."""
        for name in (home,) + tuple(n for n in LIBRARIES if n != home):
            try:
                func = self.handles[name][symbol]
            except AttributeError:
                continue
            self.origin[symbol] = name
            return func
        raise BackendError(f"aclnn backend: symbol {symbol} not found in any of "
                           f"{', '.join(str(p) for p in self.paths.values())}")


def load(lib_dir: str | os.PathLike | None = None) -> Libraries:
    paths = find(lib_dir)
    handles = {}
    for name in LIBRARIES:  # RTLD_GLOBAL: the libraries resolve each other's symbols at load time
        try:
            handles[name] = ctypes.CDLL(str(paths[name]), mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:
            detail = " ".join(str(exc).split())
            raise BackendError(f"aclnn backend: cannot load {paths[name]}: {detail} "
                               "(is LD_LIBRARY_PATH set by <CANN>/set_env.sh?)") from None
    return Libraries(paths, handles)
