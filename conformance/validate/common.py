"""The conventions every operator's host checks share, and the rules the MC2 family states alike.

Rules run in order; the first violated rule decides the status, which is the catalogue's code for that
constraint (`CATALOGUE`). Where a fault could decide otherwise the rules ask their `hooks` (conformance/hooks.py:
the simulator's faults, NO_HOOKS elsewhere); hook site RULE_CHECKED can switch a rule off. Rules never touch tensor
data, so shape-only descriptors validate without any allocation.
"""

from __future__ import annotations

from ..hooks import REJECTION_STATUS, RULE_CHECKED, Hooks
from ..protocol import ACLNN_ERR_PARAM_INVALID as INVALID
from ..spec import BY_ID
from ..spec.model import VALID_WORLD_SIZES

CATALOGUE = None  # the rule's status is its constraint's code in the catalogue (spec), the one source


def first_violation(rules, hooks: Hooks) -> tuple[int, str, str]:
    """(status, constraint id, message) of the first violated rule that is checked (hook site RULE_CHECKED);
    (0, "", "") when all hold."""
    for cid, status, message in rules:
        if message is not None and hooks.at(RULE_CHECKED, True, cid=cid):
            if status is CATALOGUE:  # a fault that rejects a valid input (an accept record) answers 161002
                status = BY_ID[cid].expected_status if BY_ID[cid].kind == "reject" else INVALID
            return hooks.at(REJECTION_STATUS, status, cid=cid), cid, f"{cid}: {message}"
    return 0, "", ""


def communication_rules(prefix: str, attrs: dict, world_size: int):
    """The world size and the three communication attributes, which the family's documents constrain alike:
    rules {prefix}-WORLD-001 and {prefix}-ATTR-001..003 (world size 1/2/4/8, reduceOp "sum", commTurn 0,
    streamMode 1)."""
    yield f"{prefix}-WORLD-001", CATALOGUE, (f"world size {world_size} not in 1/2/4/8"
                                             if world_size not in VALID_WORLD_SIZES else None)
    yield f"{prefix}-ATTR-001", CATALOGUE, (f"reduceOp {attrs.get('reduceOp')!r} is not 'sum'"
                                            if attrs.get("reduceOp") != "sum" else None)
    yield f"{prefix}-ATTR-002", CATALOGUE, (f"commTurn {attrs.get('commTurn')} is not 0"
                                            if attrs.get("commTurn") != 0 else None)
    yield f"{prefix}-ATTR-003", CATALOGUE, (f"streamMode {attrs.get('streamMode')} is not 1"
                                            if attrs.get("streamMode") != 1 else None)
