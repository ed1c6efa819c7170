"""The operators the CPU twin executes: what its C library's bridge calls for every aclnn operator it does not
implement itself (interface: `handles(fn)`, `workspace(fn, args, ctx)`, `launch(fn, args, ctx)`; values.py).

- The MC2 operators are found through the operator records (conformance.operators: a record's `abi.execute_fn`
  is `fn`; its abi.inputs/scalars/outputs name the `args`), so a newly registered record runs with no change here.
  GetWorkspaceSize answers with the record's sim-cann host model at the twin's revision on this rank's tensors
  (shape-only); the launch exchanges this rank's tensors with its peers and runs the same kernel numerics as
  `SimCannBackend.invoke` (sim/cann/backend.kernel_outputs), then writes this rank's outputs into device memory.
- The benchmark chain's separate operators (aclnnMatmul, aclnnAdd, aclnnAddRmsNorm, aclnnQuantMatmulV4, ...) are
  chain_ops.py's.
- MC2 operators the client library reaches but no record describes answer ACLNN_ERR_INNER with a one-line reason.
"""

from __future__ import annotations

import dataclasses
import pickle
from functools import lru_cache

import numpy as np

from .. import operators
from ..protocol import ACLNN_ERR_INNER, ACLNN_ERR_PARAM_INVALID, PHASE_WORKSPACE, TensorArg, span_elements
from ..sim.cann.backend import CannOptions, kernel_outputs
from . import chain_ops
from .chain_ops import ACL_ERROR_RT_AICORE_EXCEPTION
from .unrecorded import unrecorded_mc2
from .values import Answer, DeviceTensor, RankContext


# What a launched MC2 operator's GetWorkspaceSize reports. The host models do not size the workspace (on a device
# it holds the HCCL window and the tiling's scratch); the twin's kernels read none of it. Modelling choice: a
# non-zero size, so a caller's allocate-and-pass path runs as on a device, and small, because it is host memory.
MC2_WORKSPACE_BYTES = 1 << 20

@lru_cache(maxsize=None)
def _records() -> dict[str, operators.Operator]:
    """The registered MC2 operators by their execute function's name (read once: the registry is fixed)."""
    return {op.abi.execute_fn: op for op in operators.all_operators()}


@lru_cache(maxsize=None)
def _options(revision: str) -> CannOptions:
    """sim-cann's default platform options at the twin's revision (the twin models no other platform)."""
    return CannOptions(revision=revision)


def handles(fn: str) -> bool:
    return fn in _records() or fn in unrecorded_mc2() or chain_ops.handles(fn)


def workspace(fn: str, args: dict, ctx: RankContext) -> Answer:
    record = _records().get(fn)
    if record is not None:
        return _mc2_workspace(record, args, ctx)
    if chain_ops.handles(fn):
        return chain_ops.workspace(fn, args)
    return _not_modelled(fn)


def launch(fn: str, args: dict, ctx: RankContext) -> Answer:
    record = _records().get(fn)
    if record is not None:
        return _mc2_launch(record, args, ctx)
    if chain_ops.handles(fn):
        return chain_ops.launch(fn, args)
    return _not_modelled(fn)


def _not_modelled(fn: str) -> Answer:
    why = "no operator record" if fn in unrecorded_mc2() else "not an operator it knows"
    return Answer(ACLNN_ERR_INNER, message=f"the twin does not model {fn} ({why})")


# --- the MC2 operators, through their records -------------------------------------------------------------

def tensor_arg(t: DeviceTensor | None, *, with_data: bool) -> TensorArg | None:
    """The suite's TensorArg of a device tensor, as the catalogue writes one: a FRACTAL_NZ tensor holds its
    storage (shaped as the storage dims), any other a strided view of its storage (so a kernel that reads a
    strided x2 as contiguous reads the storage, as on a device); `with_data` False: shape only."""
    if t is None:
        return None
    storage_shape = t.storage_shape if t.storage_shape != t.shape else None
    if not with_data:
        return TensorArg(t.dtype, t.shape, t.strides, t.format, storage_shape, None)
    if t.format == "FRACTAL_NZ" and storage_shape is not None:
        count = int(np.prod(t.storage_shape, dtype=np.int64))
        data = t.storage[t.offset:t.offset + count].reshape(t.storage_shape)
        return TensorArg(t.dtype, t.shape, t.strides, t.format, storage_shape, data)
    return TensorArg(t.dtype, t.shape, t.strides, t.format, storage_shape, t.view())


def _shipped(t: DeviceTensor | None, *, with_data: bool) -> DeviceTensor | None:
    """What a rank sends its peers of one tensor: the descriptor and a copy of the storage its view reaches
    (from the view's first element: a strided view's gaps included; an NZ tensor's whole tiling); shape only
    for an output. One contiguous 1-D array per tensor pickles without per-element cost."""
    if t is None:
        return None
    if with_data and t.format == "FRACTAL_NZ" and t.storage_shape != t.shape:
        reach = int(np.prod(t.storage_shape, dtype=np.int64))
    else:
        reach = span_elements(t.shape, t.strides) if with_data else 0
    storage = np.array(t.storage[t.offset:t.offset + reach])
    return dataclasses.replace(t, offset=0, storage=storage)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What GetWorkspaceSize decided, kept for the launch of the same args."""

    verdicts: tuple  # every rank's HostVerdict, in rank order
    rank: int
    group: str


# Where GetWorkspaceSize leaves its plan for the launch: in the args dict itself, which the bridge hands the
# launch (and every launch of a repeatable executor) as the same object, and which dies with the executor. No C
# parameter name starts with an underscore.
_PLAN_KEY = "__twin_plan__"


def _scalars(record, args: dict) -> dict:
    """The operator's scalar arguments as the host models take them (a char* that arrives as bytes as str)."""
    return {name: args[name].decode() if isinstance(args.get(name), bytes) else args.get(name)
            for name in record.abi.scalars}


def _host_message(v) -> str:
    return f"{v.rule}: {v.message}" if v.rule else v.message


def _plan(record, args: dict, ctx: RankContext, *, exchange: bool = True) -> _Plan | Answer:
    """This rank's host verdict, told to every peer of the group (so a rank whose peer was rejected launches
    nothing, as sim-cann answers; on a device it would wait in the kernel's communication). Without `exchange`
    the peers are taken to agree with this rank (a launch whose GetWorkspaceSize this process did not see: its
    peers are past their own exchange)."""
    attrs = _scalars(record, args)
    group = attrs.get("group")
    try:
        comm = ctx.comm(str(group))
    except KeyError:
        return Answer(ACLNN_ERR_PARAM_INVALID, message=f"{record.abi.workspace_fn}: group {group!r} names no "
                                                       f"communicator of this rank")
    tensors = {name: tensor_arg(args.get(name), with_data=False) for name in record.abi.tensors}
    verdict = record.host_model.load()(record.name, tensors, attrs, comm.size, ctx.revision)
    verdicts = tuple(pickle.loads(p) for p in comm.allgather(pickle.dumps(verdict))) if exchange else \
        (verdict,) * comm.size
    return _Plan(verdicts, comm.rank, str(group))


def _mc2_workspace(record, args: dict, ctx: RankContext) -> Answer:
    if record.host_model is None:
        return Answer(ACLNN_ERR_INNER, message=f"the twin does not model {record.abi.execute_fn} "
                                               f"(its record has no sim-cann host model)")
    plan = _plan(record, args, ctx)
    if isinstance(plan, Answer):
        return plan
    own = plan.verdicts[plan.rank]
    if own.status and own.phase == PHASE_WORKSPACE:  # no launch follows
        return Answer(own.status, message=_host_message(own))
    args[_PLAN_KEY] = plan
    return Answer(0, workspace=MC2_WORKSPACE_BYTES if own.launched else 0)


def _mc2_launch(record, args: dict, ctx: RankContext) -> Answer:
    plan = args.get(_PLAN_KEY)
    if plan is None:  # a launch without its GetWorkspaceSize in this process: decide now
        plan = _plan(record, args, ctx, exchange=False)
        if isinstance(plan, Answer):
            return plan
    own = plan.verdicts[plan.rank]
    if own.status:
        return Answer(own.status, message=_host_message(own))
    refused = [f"rank {r} rejected it with {v.status}" for r, v in enumerate(plan.verdicts) if v.status]
    if refused:
        return Answer(0, message="not executed: " + ", ".join(refused))
    if not any(v.launched for v in plan.verdicts):
        return Answer(0, message=own.message)  # the empty short-cut: nothing runs, nothing is written
    comm = ctx.comm(plan.group)
    outputs = set(record.abi.outputs)
    mine = {name: _shipped(args.get(name), with_data=name not in outputs) for name in record.abi.tensors}
    shipped = [pickle.loads(p) for p in comm.allgather(pickle.dumps(mine, protocol=pickle.HIGHEST_PROTOCOL))]
    ranks = [{name: tensor_arg(t, with_data=name not in outputs) for name, t in peer.items()} for peer in shipped]
    try:
        outs = kernel_outputs(record.name, ranks, _scalars(record, args), plan.verdicts, _options(ctx.revision))
        for name, values in outs[plan.rank].items():
            if args.get(name) is not None:
                args[name].write(values)
    except Exception as exc:  # the kernel met an input the host let through: the stream reports it
        return Answer(0, kernel_status=ACL_ERROR_RT_AICORE_EXCEPTION,
                      message=f"{record.abi.execute_fn}: kernel failed: {type(exc).__name__}: {exc}")
    return Answer(0)
