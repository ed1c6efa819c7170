"""What GetWorkspaceSize of aclnnQuantMatmulAllReduce checks: V3's rules, read for an operator without
pertokenScale and comm scales, under this operator's constraint ids.

Why V3's rules serve: the published V1 entry point runs the family's quantised parameter check with a null
pertokenScale (mirror-cann/ops-transformer@c29bc10 mc2/matmul_all_reduce/op_host/op_api/
aclnn_quant_matmul_all_reduce.cpp:51-52), and this operator's document states, for the tensors it has, the rules
V3's document states (spec/qmar.py numbers its records after V3's for that reason). V3's rules about
pertokenScale and the comm scales hold vacuously: this operator's invocations carry neither (its ABI has no such
argument). Every rule id is renamed before the first violation is chosen, so the generic `unchecked:<id>` faults
(hook site RULE_CHECKED) switch off QMAR's rules, not V3's.
"""

from __future__ import annotations

from ..hooks import NO_HOOKS, Hooks
from . import v3
from .common import first_violation

PREFIX = "QMAR-"


def _renamed(rules):
    for cid, status, message in rules:
        yield PREFIX + cid.removeprefix("V3-"), status, message


def validate(op, tensors, attrs, world_size, hooks: Hooks = NO_HOOKS):
    return first_violation(_renamed(v3._rules(op, tensors, attrs, world_size, hooks)), hooks)
