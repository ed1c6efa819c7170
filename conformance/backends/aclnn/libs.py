"""Finding and loading the CANN libraries, and resolving symbols from them (device-facts 6, and the library layout
researched for issue 19, whose sources are cited below).

Where they are looked for: an explicit directory (the backend's `lib_dir` option, or $MC2_ACLNN_LIB_DIR), else
$ASCEND_HOME_PATH/lib64, $ASCEND_HOME_PATH/aarch64-linux/lib64, $ASCEND_HOME_PATH/x86_64-linux/lib64 (the
toolkit layouts). The first directory that holds a library wins.

Two layouts of the operator libraries are current, and the backend loads exactly one of them:
- split: libopapi_math.so, libopapi_nn.so, libopapi_transformer.so, one per operator repository. Each repository's
  operator list says 「原所有算子仓总库文件libopapi.so后续会废弃，不推荐使用，也不支持与单个算子仓库文件同时使用」
  (hicann/ops-math@c4193324 docs/zh/op_api_list.md:12, hicann/ops-nn@e5c3fa93 docs/zh/op_api_list.md:12,
  mirror-cann/ops-transformer@3a280bcc docs/zh/op_api_list.md:12): libopapi.so is to be retired and must NOT be
  loaded together with the split libraries.
- single: libopapi.so alone (older CANN).
Rule: when any split library is present the split layout is loaded (all three are then required: the MC2
operators are in _transformer, which needs _math at link time, ops-transformer@3a280bcc
docs/zh/context/编译与运行样例.md:91) and a libopapi.so next to them is left unloaded; otherwise libopapi.so.
Never both.

Communicator set-up (HcclGetRootInfo, HcclCommInitRootInfo, HcclGetCommName, HcclCommDestroy) is declared by
hicann/hcomm include/hccl/hccl_comm.h and shipped in libhcomm.so (hicann/hcomm@27e08930
docs/zh/api_ref/hcomm_header_and_lib.md:36); HcclAllReduce stays in libhccl.so (hicann/hccl@09300b70
docs/zh/api_ref/hccl_header_and_lib.md:34). libhcomm.so is loaded when present (older CANN: everything in
libhccl.so); libhccl.so is always required.

A symbol is resolved from its home library (abi.PROTOTYPES, the split layout's name), else the library that held
it in the old layout (LEGACY_HOME), else any other loaded library (which of libnnopbase/libascendcl exports
aclCreateTensor is UNCONFIRMED); the library it came from is recorded in `Libraries.origin`. A missing library
or symbol is a one-line BackendError naming what was looked for and where.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import BackendError

ACL = "libascendcl.so"
NNOPBASE = "libnnopbase.so"
OPAPI_MATH = "libopapi_math.so"
OPAPI_NN = "libopapi_nn.so"
OPAPI_TRANSFORMER = "libopapi_transformer.so"
OPAPI = "libopapi.so"  # the single operator library of older CANN; never loaded with the split ones
HCOMM = "libhcomm.so"
HCCL = "libhccl.so"

SPLIT_OPAPI = (OPAPI_MATH, OPAPI_NN, OPAPI_TRANSFORMER)  # load order: _transformer links _math
LEGACY_HOME = {OPAPI_MATH: OPAPI, OPAPI_NN: OPAPI, OPAPI_TRANSFORMER: OPAPI, HCOMM: HCCL}
SPLIT_RULE = ("libopapi.so may not be loaded together with the split libopapi_*.so "
              "(hicann/ops-math docs/zh/op_api_list.md:12)")
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


def _first(dirs: list[Path], name: str) -> Path | None:
    return next((d / name for d in dirs if (d / name).exists()), None)


@dataclass(frozen=True)
class Layout:
    """The libraries to load, in load order (runtime first), with their paths; `layout` is "split" or "single";
    `skipped`: libraries present but deliberately not loaded (libopapi.so next to the split ones)."""
    paths: dict[str, Path]
    layout: str
    skipped: dict[str, Path] = field(default_factory=dict)


def find_layout(lib_dir: str | os.PathLike | None = None) -> Layout:
    dirs = search_dirs(lib_dir)
    hit = {name: _first(dirs, name) for name in (ACL, NNOPBASE, *SPLIT_OPAPI, OPAPI, HCOMM, HCCL)}
    split = any(hit[n] for n in SPLIT_OPAPI)
    opapi = SPLIT_OPAPI if split else (OPAPI,)
    wanted = (ACL, NNOPBASE, *opapi, HCOMM, HCCL)
    missing = [n for n in wanted if hit[n] is None and n != HCOMM]  # libhcomm.so: optional (older CANN)
    if missing:
        looked = ", ".join(str(d / name) for name in missing for d in dirs)
        if split:
            have = ", ".join(n for n in SPLIT_OPAPI if hit[n])
            why = f"; split operator libraries found ({have}), so all three are needed: {SPLIT_RULE}"
        elif OPAPI in missing:
            missing[missing.index(OPAPI)] = f"{OPAPI} (or the split {', '.join(SPLIT_OPAPI)})"
            why = ""
        else:
            why = ""
        raise BackendError(f"aclnn backend: {', '.join(missing)} not found (looked at {looked}){why}")
    paths = {n: hit[n] for n in wanted if hit[n] is not None}
    skipped = {OPAPI: hit[OPAPI]} if split and hit[OPAPI] else {}
    return Layout(paths, "split" if split else "single", skipped)


def find(lib_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Path of each library to load, in load order (find_layout's)."""
    return find_layout(lib_dir).paths


@dataclass
class Libraries:
    paths: dict[str, Path]
    handles: dict[str, ctypes.CDLL]
    origin: dict[str, str] = field(default_factory=dict)  # symbol -> the library it was resolved from
    layout: str = "single"
    skipped: dict[str, Path] = field(default_factory=dict)

    def candidates(self, home: str) -> tuple[str, ...]:
        """Where `symbol` of home library `home` is looked for, in order, among the loaded libraries."""
        order = [home, LEGACY_HOME.get(home, home)] + list(self.handles)
        return tuple(dict.fromkeys(n for n in order if n in self.handles))

    def find_symbol(self, symbol: str, home: str):
        """The function pointer, or None (an optional symbol's absence)."""
        for name in self.candidates(home):
            try:
                func = self.handles[name][symbol]
            except AttributeError:
                continue
            self.origin[symbol] = name
            return func
        return None

    def resolve(self, symbol: str, home: str):
        """A fresh function pointer (so prototypes set on it stay ours) from `home`, else its old-layout
        library, else the first other loaded library that exports it; one-line BackendError naming every library
        looked in otherwise."""
        func = self.find_symbol(symbol, home)
        if func is None:
            looked = ", ".join(f"{n} ({self.paths[n]})" for n in self.candidates(home))
            raise BackendError(f"aclnn backend: symbol {symbol} not found; looked in {looked}")
        return func


def load(lib_dir: str | os.PathLike | None = None) -> Libraries:
    found = find_layout(lib_dir)
    handles = {}
    for name, path in found.paths.items():  # RTLD_GLOBAL: the libraries resolve each other's symbols at load time
        try:
            handles[name] = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:
            detail = " ".join(str(exc).split())
            raise BackendError(f"aclnn backend: cannot load {path}: {detail} "
                               "(is LD_LIBRARY_PATH set by <CANN>/set_env.sh?)") from None
    return Libraries(dict(found.paths), handles, layout=found.layout, skipped=dict(found.skipped))
