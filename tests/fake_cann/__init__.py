"""Build the recording fake CANN (fake_cann.c) and lay it out as an $ASCEND_HOME_PATH, for the aclnn backend's
marshalling tests. No pytest here: `build(tmp_dir)` returns the fake home, or raises `NoCompiler`.

Layouts (conformance/backends/aclnn/libs.py says which the backend loads, with the documents it follows):
- "single": <home>/lib64/{libascendcl,libnnopbase,libopapi,libhccl}.so, the pre-split names;
- "split": <home>/lib64/{libascendcl,libnnopbase,libopapi_math,libopapi_nn,libopapi_transformer,libhcomm,libhccl}.so,
  the operator library split per repository and the communicator set-up in libhcomm.so;
- "both": every name of the two (a CANN that still ships libopapi.so next to the split libraries).
Every name is a symlink to one libfake_cann.so that exports every function, so the backend finds everything
exactly as it would in a CANN install. A registered operator whose entry points fake_cann.c does not write by hand
gets them generated from its record's ABI (`registered_operators_source`). `omit` builds the object without the
named functions (each renamed away with -D<name>=fake_cann_omitted_<name>), for the tests of a missing symbol.
<home>/version.cfg holds the version.
`read_log(path)` parses the JSON-lines call log the library writes to $FAKE_CANN_LOG.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).with_name("fake_cann.c")
SINGLE = ("libascendcl.so", "libnnopbase.so", "libopapi.so", "libhccl.so")
SPLIT = ("libascendcl.so", "libnnopbase.so", "libopapi_math.so", "libopapi_nn.so", "libopapi_transformer.so",
         "libhcomm.so", "libhccl.so")
LAYOUTS = {"single": SINGLE, "split": SPLIT, "both": tuple(dict.fromkeys(SINGLE + SPLIT))}
VERSION = "Version=8.0.fake\n"


class NoCompiler(RuntimeError):
    pass


def build(tmp_dir: Path, layout: str = "single", *, omit: tuple[str, ...] = ()) -> Path:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise NoCompiler("no C compiler (cc, gcc or clang) on PATH to build tests/fake_cann/fake_cann.c")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown fake CANN layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    home = Path(tmp_dir) / "ascend"
    lib64 = home / "lib64"
    lib64.mkdir(parents=True, exist_ok=True)
    so = lib64 / "libfake_cann.so"
    unit = home / "fake_cann_all.c"
    unit.write_text(f'#include "{SOURCE}"\n' + registered_operators_source(SOURCE.read_text()))
    renames = [f"-D{name}=fake_cann_omitted_{name}" for name in omit]
    proc = subprocess.run([cc, "-shared", "-fPIC", "-O1", *renames, "-o", str(so), str(unit), "-lpthread"],
                          capture_output=True, text=True)
    if proc.returncode:
        raise NoCompiler(f"{cc} failed to build {SOURCE.name}: {proc.stderr.strip()[-500:]}")
    for name in LAYOUTS[layout]:
        (lib64 / name).symlink_to(so.name)
    (home / "version.cfg").write_text(VERSION)
    return home


# C type and JSON recording of each scalar argument, by name (the aclnn backend's abi.SCALAR_CTYPES, in C)
_SCALARS = {"epsilon": ("double", ',\\"epsilon\\":%.17g', "{v}"),
            "group": ("const char *", None, "{v}"), "reduceOp": ("const char *", None, "{v}"),
            "commTurn": ("int64_t", ',\\"commTurn\\":%lld', "(long long){v}"),
            "streamMode": ("int64_t", ',\\"streamMode\\":%lld', "(long long){v}")}


def registered_operators_source(handwritten: str) -> str:
    """The two entry points of every registered operator that fake_cann.c does not write by hand, from its
    record's ABI (conformance/operators): GetWorkspaceSize records each argument by its C name and makes an
    executor whose execute fills the first one or two outputs, as the hand-written ones do."""
    from conformance import operators
    out = []
    for op in operators.all_operators():
        abi = op.abi
        if f"int {abi.workspace_fn}(" in handwritten:
            continue
        params = [f"const void *t_{n}" for n in abi.inputs]
        params += [f"{_SCALARS[n][0]} s_{n}" for n in abi.scalars]
        params += [f"const void *t_{n}" for n in abi.outputs] + ["uint64_t *ws", "void **executor"]
        body = [f'    const char *fn = "{abi.workspace_fn}";', "    pthread_mutex_lock(&lock);",
                "    Str s = begin(fn);"]
        body += [f'    put_tensor(&s, "{n}", t_{n});' for n in abi.inputs]
        for n in abi.scalars:
            fmt, value = _SCALARS[n][1], _SCALARS[n][2].format(v=f"s_{n}")
            body.append(f'    put_str(&s, "{n}", {value});' if fmt is None else f'    put(&s, "{fmt}", {value});')
        body += [f'    put_tensor(&s, "{n}", t_{n});' for n in abi.outputs]
        o1 = f"t_{abi.outputs[0]}" if abi.outputs else "NULL"
        o2 = f"t_{abi.outputs[1]}" if len(abi.outputs) > 1 else "NULL"
        x1 = "t_x1" if "x1" in abi.inputs else "NULL"
        body.append(f"    return workspace_result(&s, fn, OP_V3, {x1}, {o1}, {o2}, ws, executor);  /* an MC2 op */")
        out.append(f"int {abi.workspace_fn}({', '.join(params)}) {{\n" + "\n".join(body) + "\n}")
        out.append(f"int {abi.execute_fn}(void *w, uint64_t ws, void *e, void *st) {{\n"
                   f'    return execute("{abi.execute_fn}", w, ws, e, st);\n}}')
    return "\n".join(out) + "\n"


def read_log(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
