"""Compiling the twin's C library (cann_twin.c) against the CANN headers the installed torch_npu wheel ships.

The MC2 operators' C wrappers are generated from the operator records (conformance.operators: abi.inputs are
aclTensor*, abi.scalars typed as conformance/backends/aclnn/abi.py SCALAR_CTYPES says, abi.outputs aclTensor*),
so a newly registered record needs no C edit. The build is cached under a hash of the sources, this module
(the commands), the generated header, the headers' contents and the compiler's path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from .. import operators

SOURCE = Path(__file__).with_name("cann_twin.c")
OPS_HEADER = "cann_twin_ops.h"
LIBRARY = "libcann_twin.so"

# C type of each scalar parameter the records name (the ctypes of conformance/backends/aclnn/abi.py SCALAR_CTYPES,
# written as C): how the generated wrapper declares and records it.
SCALAR_C = {"epsilon": ("double", "ARG_D"), "group": ("const char *", "ARG_STR"),
            "reduceOp": ("const char *", "ARG_STR"), "commTurn": ("int64_t", "ARG_I"),
            "streamMode": ("int64_t", "ARG_I"), "antiquantGroupSize": ("int64_t", "ARG_I"),
            "commMode": ("const char *", "ARG_STR"), "groupSize": ("int64_t", "ARG_I"),
            "commQuantMode": ("int64_t", "ARG_I")}

# The other MC2 all-reduce operators torch_npu's npu_mm_all_reduce_base reaches (Ascend/op-plugin@517f2e7d
# op_plugin/ops/opapi/MatmulAllReduceBaseKernelNpuOpApi.cpp:395-545) that have no operator record yet: their wrappers
# are generated from this table, so the call reaches the operators module (which answers "not modelled" until a
# record exists). A record of the same name (issue 22) replaces the entry. (inputs, scalars, outputs) in C order,
# names as documented in mirror-cann/ops-transformer@3a280bcc mc2/matmul_all_reduce/docs/<fn>.md (line of the
# GetWorkspaceSize prototype).
_FP8_INPUTS = ("x1", "x2", "biasOptional", "x3Optional", "x1ScaleOptional", "x2ScaleOptional",
               "commQuantScale1Optional", "commQuantScale2Optional")
UNRECORDED_MC2 = {
    "aclnnMatmulAllReduce": (("x1", "x2", "bias"), ("group", "reduceOp", "commTurn", "streamMode"),
                             ("output",)),  # aclnnMatmulAllReduce.md:32
    "aclnnMatmulAllReduceV2": (("x1", "x2", "bias", "x3"), ("group", "reduceOp", "commTurn", "streamMode"),
                               ("output",)),  # aclnnMatmulAllReduceV2.md:32
    "aclnnQuantMatmulAllReduce": (("x1", "x2", "bias", "x3", "dequantScale"),
                                  ("group", "reduceOp", "commTurn", "streamMode"),
                                  ("output",)),  # aclnnQuantMatmulAllReduce.md:32
    "aclnnQuantMatmulAllReduceV2": (("x1", "x2", "biasOptional", "x3Optional", "dequantScale",
                                     "pertokenScaleOptional"), ("group", "reduceOp", "commTurn", "streamMode"),
                                    ("output",)),  # aclnnQuantMatmulAllReduceV2.md:43
    "aclnnWeightQuantMatmulAllReduce": (("x1", "x2", "bias", "antiquantScale", "antiquantOffset", "x3"),
                                        ("group", "reduceOp", "commTurn", "streamMode", "antiquantGroupSize"),
                                        ("output",)),  # aclnnWeightQuantMatmulAllReduce.md:33
    "aclnnMatmulAllReduceV3": (("x1", "x2", "bias", "x3"), ("group", "reduceOp", "commMode", "commTurn", "streamMode"),
                               ("output",)),  # aclnnMatmulAllReduceV3.md:32
    "aclnnQuantMatmulAllReduceV4": (_FP8_INPUTS, ("group", "reduceOp", "commTurn", "streamMode", "groupSize",
                                                  "commQuantMode"), ("output",)),  # aclnnQuantMatmulAllReduceV4.md:140
    "aclnnQuantMatmulAllReduceV5": (_FP8_INPUTS, ("group", "reduceOp", "commMode", "commTurn", "streamMode",
                                                  "groupSize", "commQuantMode"),
                                    ("output",)),  # aclnnQuantMatmulAllReduceV5.md:26
    "aclnnWeightQuantMatmulAllReduceV2": (("x1", "x2", "bias", "antiquantScale", "antiquantOffset", "x3"),
                                          ("group", "reduceOp", "commMode", "commTurn", "streamMode",
                                           "antiquantGroupSize"),
                                          ("output",)),  # aclnnWeightQuantMatmulAllReduceV2.md:33
}


class BuildError(Exception):
    """One line: what the build lacks (a compiler, torch_npu's headers) or how compiling failed."""


def torch_npu_include() -> Path:
    """torch_npu/include of the installed wheel (found without importing torch_npu: that needs the CANN libraries)."""
    spec = importlib.util.find_spec("torch_npu")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("torch_npu is not installed: the twin compiles against the CANN headers its wheel ships")
    include = Path(list(spec.submodule_search_locations)[0]) / "include"
    if not (include / "third_party" / "acl" / "inc" / "acl" / "acl.h").is_file():
        raise BuildError(f"torch_npu's CANN headers are missing: no {include}/third_party/acl/inc/acl/acl.h")
    return include


def compiler() -> str:
    named = os.environ.get("CC") or "cc"
    cc = shutil.which(named)
    if not cc:
        raise BuildError(f"no C compiler: {named!r} is not on PATH (the twin compiles cann_twin.c with `cc -x c++`)")
    return cc


def _wrapper(workspace_fn: str, execute_fn: str, inputs, scalars, outputs) -> list[str]:
    params, records = [], []
    for name in inputs:
        params.append(f"const aclTensor *{name}")
        records.append(f"    ARG_T(e, \"{name}\", {name});")
    for name in scalars:
        if name not in SCALAR_C:
            raise BuildError(f"operator {execute_fn}: scalar {name!r} has no C type in twin/build.py SCALAR_C")
        ctype, recorder = SCALAR_C[name]
        params.append(f"{ctype} {name}")
        records.append(f"    {recorder}(e, \"{name}\", {name});")
    for name in outputs:
        params.append(f"const aclTensor *{name}")
        records.append(f"    ARG_T(e, \"{name}\", {name});")
    return [f"TWIN_EXPORT aclnnStatus {workspace_fn}({', '.join(params)}, WORKSPACE_OUT) {{",
            f"    aclOpExecutor *e = exec_begin(\"{execute_fn}\");", *records,
            "    return exec_workspace(e, workspaceSize, executor);", "}", f"EXECUTE({execute_fn})", ""]


def ops_header() -> str:
    """The MC2 operators' wrappers: one GetWorkspaceSize / execute pair per operator record, then UNRECORDED_MC2."""
    lines = ["/* Generated by conformance/twin/build.py from the operator records: do not edit. */", ""]
    recorded = set()
    for op in operators.all_operators():
        abi = op.abi
        recorded.add(abi.execute_fn)
        lines += _wrapper(abi.workspace_fn, abi.execute_fn, abi.inputs, abi.scalars, abi.outputs)
    for fn, (inputs, scalars, outputs) in UNRECORDED_MC2.items():
        if fn not in recorded:
            lines += _wrapper(fn + "GetWorkspaceSize", fn, inputs, scalars, outputs)
    return "\n".join(lines)


def header_files(include: Path) -> list[Path]:
    roots = [include / "third_party" / "acl" / "inc", include / "third_party" / "hccl" / "inc"]
    return sorted(p for root in roots for p in root.rglob("*.h"))


def source_hash(include: Path, cc: str) -> str:
    digest = hashlib.sha256()
    digest.update(SOURCE.read_bytes())
    digest.update(Path(__file__).read_bytes())  # the compile and link commands
    digest.update(Path(__file__).with_name("install_tree.py").read_bytes())  # the library names
    digest.update(ops_header().encode())
    digest.update(cc.encode())
    for path in header_files(include):
        digest.update(str(path.relative_to(include)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def compile_library(out_dir: Path, *, include: Path, cc: str) -> Path:
    """Compile libcann_twin.so into out_dir (the generated header beside it); BuildError with the first error line."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / OPS_HEADER).write_text(ops_header())
    target = out_dir / LIBRARY
    cmd = [cc, "-x", "c++", "-std=c++17", "-O2", "-fPIC", "-shared", "-fno-exceptions", "-fno-rtti",
           "-Wall", "-Wno-unused-function", "-Werror=return-type",
           f"-I{include}", f"-I{include / 'third_party' / 'acl' / 'inc'}",
           f"-I{include / 'third_party' / 'hccl' / 'inc'}",
           f"-I{out_dir}", "-o", str(target), str(SOURCE), "-ldl", "-lpthread", "-lrt", "-lm", "-lstdc++"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        if "cc1plus" in result.stderr:
            raise BuildError(f"{cc} cannot compile C++ (no cc1plus): install g++; hccl.h, which the twin checks its "
                             "prototypes against, is C++ only")
        errors = [line for line in result.stderr.splitlines() if "error" in line] or result.stderr.splitlines()[-1:]
        raise BuildError(f"compiling {SOURCE.name} failed: {errors[0] if errors else 'exit ' + str(result.returncode)}")
    return target


def link_stub(name: str, *, out_dir: Path, twin: Path, cc: str) -> Path:
    """An empty library `name` whose only content is its DT_NEEDED on libcann_twin.so (found through $ORIGIN)."""
    empty = out_dir / "empty.c"
    if not empty.exists():
        empty.write_text("/* a CANN library name of the twin: everything comes from libcann_twin.so */\n")
    target = out_dir / name
    # --no-as-needed must precede the library it applies to
    cmd = [cc, "-shared", "-fPIC", "-o", str(target), str(empty), "-Wl,--no-as-needed", f"-L{twin.parent}",
           "-l:" + twin.name, "-Wl,-rpath,$ORIGIN", f"-Wl,-soname,{name}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"linking {name} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    return target
