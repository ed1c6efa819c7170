"""The twin's fake ASCEND_HOME_PATH: a CANN install tree as torch_npu and the suite read one.

Layout (what each reader needs; docs/cann-twin.md cites where it was read):
  <home>/lib64/                 libcann_twin.so and an empty library under every CANN name torch_npu links or opens
                                and the aclnn backend loads (LIBRARY_NAMES), each needing libcann_twin.so
  <home>/runtime/, compiler/    torch_npu's package check at import wants both directories to exist
  <home>/opp/                   ASCEND_OPP_PATH (must exist, same check)
  <home>/version.cfg, ascend_toolkit_install.info, runtime/version.info
                                the CANN version (the suite's doctor and aclnn backend read these files; torch_npu
                                asks aclsysGetCANNVersion, which answers the same version from MC2_TWIN_CANN_VERSION)
  <home>/set_env.sh             the environment a shell would source (the same as Twin.env)
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

# Libraries torch_npu needs at load time (DT_NEEDED of libtorch_npu.so, _C.so, libtensorpipe.so), opens by name
# (libascendcl / libhccl / libopapi through its function loaders), and the aclnn backend loads (both layouts:
# conformance/backends/aclnn/libs.py), plus the two more that the wheel's torchair modules need
# (torch_npu/dynamo/torchair/core/*.so, DT_NEEDED; MindSpeed's op builders import torchair). Each is an empty library
# that depends on libcann_twin.so.
LIBRARY_NAMES = ("libascendcl.so", "libhccl.so", "libhcomm.so", "libnnopbase.so", "libopapi.so",
                 "libopapi_math.so", "libopapi_nn.so", "libopapi_transformer.so", "libacl_op_compiler.so",
                 "libge_runner.so", "libgraph.so", "libacl_tdt_channel.so", "libruntime.so",
                 "libfmk_parser.so", "libascend_protobuf.so")

# The CANN version the tree reports; the twin models the operators at a source revision (Twin.revision), and this
# is the release family those revisions belong to (a named option: MC2_TWIN_CANN_VERSION overrides it).
DEFAULT_CANN_VERSION = "8.5.0"
# Where the suite looks for the version (conformance/backends/aclnn/backend.py VERSION_FILES reads the first two).
VERSION_FILES = ("version.cfg", "ascend_toolkit_install.info", "runtime/version.info")


def cann_version_of(revision: str) -> str:
    """The version the tree reports: $MC2_TWIN_CANN_VERSION, else the revision's own release name (8.5.0, 9.0.0...),
    else DEFAULT_CANN_VERSION (master and the baseline commit name no release)."""
    explicit = os.environ.get("MC2_TWIN_CANN_VERSION")
    if explicit:
        return explicit
    return revision if revision[:1].isdigit() else DEFAULT_CANN_VERSION


def write(home: Path, *, build_dir: Path, twin_library: Path, version: str) -> dict[str, Path]:
    """Lay out the tree under `home` from the built libraries in build_dir; returns {library name: path}."""
    lib64 = home / "lib64"
    lib64.mkdir(parents=True, exist_ok=True)
    for sub in ("runtime", "compiler", "opp"):
        (home / sub).mkdir(exist_ok=True)
    libraries = {}
    for name in library_names(twin_library.name):
        dst = lib64 / name
        write_if_changed(dst, (build_dir / name).read_bytes(), like=build_dir / name)
        libraries[name] = dst
    info = f"version={version}\n".encode()
    for rel in VERSION_FILES:
        write_if_changed(home / rel, info)
    return libraries


def library_names(twin_library: str) -> tuple[str, ...]:
    """Every library the tree's lib64 holds: the twin's own and the stubs named after CANN's."""
    return (twin_library, *LIBRARY_NAMES)


def write_if_changed(path: Path, data: bytes, *, like: Path | None = None) -> None:
    """Write `data` to `path` only when the file differs, and then by renaming a finished copy over it: xdist
    workers prepare the twin at the same time as other rank processes load its libraries and read its files, so
    a file in use is never truncated or rewritten in place. `like`: a file whose permission bits to copy."""
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass  # missing (or unreadable): written below
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    if like is not None:
        shutil.copymode(like, tmp)
    os.replace(tmp, path)


def environment(home: Path, *, version: str, revision: str) -> dict[str, str]:
    """The environment additions a rank process needs (what set_env.sh would export, plus the twin's own)."""
    lib64 = str(home / "lib64")
    ld = os.environ.get("LD_LIBRARY_PATH", "")
    return {
        "ASCEND_HOME_PATH": str(home),
        "ASCEND_TOOLKIT_HOME": str(home),
        "ASCEND_OPP_PATH": str(home / "opp"),
        "LD_LIBRARY_PATH": lib64 + (os.pathsep + ld if ld else ""),
        "MC2_TWIN_LIB": str(home / "lib64" / "libcann_twin.so"),
        "MC2_TWIN_REVISION": revision,
        "MC2_TWIN_CANN_VERSION": version,
    }


def write_set_env(home: Path, env: dict[str, str]) -> Path:
    path = home / "set_env.sh"
    write_if_changed(path, ("# generated by conformance/twin/install_tree.py\n" +
                            "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())).encode())
    return path
