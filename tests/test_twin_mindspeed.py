"""MindSpeed's fused MARN (npu_mm_all_reduce_add_rms_norm and its in-place form) on the CANN twin.

MindSpeed compiles the op at its first call and imports torchair (the wheel's torch_npu/dynamo/torchair) on the way,
whose compiled modules are linked BIND_NOW against CANN's graph engine: the first test checks, without MindSpeed,
that the twin defines every CANN symbol they import. The others need MindSpeed importable (built from its published
repository: docs/cann-twin.md, "MindSpeed on the twin: how to build it") and skip with that reason otherwise; the
first of them may compile the op (about 100 s on 2 cores; TORCH_EXTENSIONS_DIR keeps the build).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.twin import install_tree
from helpers import prepared_twin, results_of, run_torch_ranks

ROOT = Path(__file__).resolve().parent.parent
BUILD_DOC = 'docs/cann-twin.md, "MindSpeed on the twin: how to build it"'
# the bounds-checked string functions torchair imports (CANN's libc_sec)
BOUNDS_CHECKED = {"snprintf_s", "strcpy_s", "vsnprintf_s"}


@pytest.fixture(scope="module")
def twin():
    return prepared_twin()


@pytest.fixture(scope="module")
def mindspeed_path(twin) -> str:
    """The directory holding the mindspeed package (found without importing it: that needs the twin's libraries)."""
    spec = importlib.util.find_spec("mindspeed")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"MindSpeed is not installed; build it from its published repository ({BUILD_DOC})")
    if importlib.util.find_spec("google.protobuf") is None:
        pytest.skip("torchair (imported by MindSpeed's op builders) needs the protobuf package, which is not installed")
    return str(Path(list(spec.submodule_search_locations)[0]).parent)


def _torchair_core() -> Path:
    spec = importlib.util.find_spec("torch_npu")
    return Path(list(spec.submodule_search_locations)[0]) / "dynamo" / "torchair" / "core"


def _nm(path: Path, which: str) -> set[str]:
    out = subprocess.run(["nm", "-D", which, str(path)], capture_output=True, text=True).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}


def test_every_cann_symbol_torchair_links_is_defined(twin):
    """torchair's modules are BIND_NOW: their acl*, ge:: and bounds-checked imports must all be in libcann_twin.so,
    and every library name they need must be in the tree."""
    modules = sorted(_torchair_core().glob("*.so"))
    if not modules:
        pytest.skip("this torch_npu wheel has no torchair modules (torch_npu/dynamo/torchair/core/*.so)")
    undefined, needed = set(), set()
    for lib in modules:
        undefined |= _nm(lib, "--undefined-only")
        dynamic = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True).stdout
        needed |= {line.split("[")[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line}
    cann = {s for s in undefined if s.startswith(("acl", "_ZN2ge", "_ZNK2ge")) or s in BOUNDS_CHECKED}
    assert len(cann) > 80, "the scan found too few CANN symbols to mean anything"
    assert sorted(cann - _nm(twin.libraries["libcann_twin.so"], "--defined-only")) == []
    cann_names = {n for n in needed if n.startswith(("libge_", "libgraph", "libfmk", "libascend", "libacl", "libhccl"))}
    assert sorted(cann_names - set(install_tree.LIBRARY_NAMES)) == []


RANK = """
import json, os, torch, torch_npu
import torch.distributed as dist
def put(key, value): print("RESULT " + json.dumps([key, value]), flush=True)
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
torch.npu.set_device(rank)
dist.init_process_group("hccl", rank=rank, world_size=world)
hcom = dist.distributed_c10d._get_default_group()._get_backend(torch.device("npu")).get_hccl_comm_name(rank)
from mindspeed.ops.npu_mm_all_reduce_add_rms_norm import npu_mm_all_reduce_add_rms_norm
from mindspeed.ops.npu_mm_all_reduce_add_rms_norm_ import npu_mm_all_reduce_add_rms_norm_
b, s, k, n = 1, 4, 16, 48
def operands():
    return (torch.ones(b, s, k, dtype=torch.float16).npu(), torch.ones(k, n, dtype=torch.float16).npu(),
            torch.ones(b, s, n, dtype=torch.float16).npu(), torch.full((n,), 2.0, dtype=torch.float16).npu())
x1, x2, residual, gamma = operands()
y, norm = npu_mm_all_reduce_add_rms_norm(x1, x2, residual, gamma, hcom)
torch.npu.synchronize()
put("y", sorted(set(y.cpu().flatten().tolist())))
put("norm", sorted(set(norm.cpu().flatten().tolist())))
put("shapes", [list(y.shape), list(norm.shape)])
put("residual_after", sorted(set(residual.cpu().flatten().tolist())))
x1, x2, residual, gamma = operands()
y_, norm_ = npu_mm_all_reduce_add_rms_norm_(x1, x2, residual, gamma, hcom)
torch.npu.synchronize()
put("inplace_y", sorted(set(y_.cpu().flatten().tolist())))
put("inplace_residual", sorted(set(residual.cpu().flatten().tolist())))
put("inplace_norm", sorted(set(norm_.cpu().flatten().tolist())))
try:
    npu_mm_all_reduce_add_rms_norm(x1, x2, residual.view(b * s, n), gamma, hcom)
    put("residual_2d", "accepted")
except RuntimeError as exc:
    put("residual_2d", str(exc).splitlines()[0])
os._exit(0)  # skip torch's interpreter finalisation (seconds); nothing is left to flush
"""


def run_ranks(twin, mindspeed_path: str, tmp_path: Path, world: int, timeout: float = 400) -> list[dict]:
    """Each rank's RESULT lines. ASCEND_LAUNCH_BLOCKING=1: with torch_npu's task queue on, MindSpeed's call (which
    holds the GIL) waits for the queue's thread, which needs the GIL to reach the twin's Python operators."""
    outputs = run_torch_ranks(twin, RANK, world, tmp_path, timeout=timeout, extra_env={
        "ASCEND_LAUNCH_BLOCKING": "1", "TORCH_DEVICE_BACKEND_AUTOLOAD": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT), mindspeed_path, *sys.path[1:]])})
    return [results_of(out) for out in outputs]


def test_marn_through_mindspeed_at_world_2(twin, mindspeed_path, tmp_path):
    """Ones everywhere, gamma 2, world 2, k 16: y = 2 ranks x 16 + residual 1 = 33 on every rank; a constant row's
    rms is the constant, so normOut = gamma = 2. The in-place form writes y into residual. A 2-D residual is
    MindSpeed's own rejection, before aclnn (Ascend/MindSpeed@028de58c mindspeed/ops/csrc/cann/inc/mc2_utils.h:34)."""
    ranks = run_ranks(twin, mindspeed_path, tmp_path, world=2)
    for r, got in enumerate(ranks):
        assert got["y"] == [33.0], f"rank {r}"
        assert got["norm"] == [2.0], f"rank {r}"
        assert got["shapes"] == [[1, 4, 48], [1, 4, 48]], f"rank {r}"
        assert got["residual_after"] == [1.0], f"rank {r}: the out-of-place form must leave residual alone"
        assert got["inplace_y"] == [33.0] and got["inplace_residual"] == [33.0], f"rank {r}"
        assert got["inplace_norm"] == [2.0], f"rank {r}"
        assert got["residual_2d"] == "residual needs to be 3D, but got: 2D", f"rank {r}"
