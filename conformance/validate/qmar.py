"""What GetWorkspaceSize of aclnnQuantMatmulAllReduce checks: V3's rules, read for an operator without
pertokenScale and comm scales, under this operator's constraint ids and hook sites.

Why V3's rules serve: the published V1 entry point runs the family's quantised parameter check with a null
pertokenScale (mirror-cann/ops-transformer@c29bc10 mc2/matmul_all_reduce/op_host/op_api/
aclnn_quant_matmul_all_reduce.cpp:51-52), and this operator's document states, for the tensors it has, the rules
V3's document states (spec/qmar.py numbers its records after V3's for that reason). V3's rules about
pertokenScale and the comm scales hold vacuously: this operator's invocations carry neither (its ABI has no such
argument). Every rule id is renamed before the first violation is chosen, so the generic `unchecked:<id>` faults
(hook site RULE_CHECKED) switch off QMAR's rules, not V3's; and each of V3's own hook sites is seen through one of
this operator's (`OwnSites`), so a fault of this operator's (sim/qmar_faults.py) perturbs its calls only.
"""

from __future__ import annotations

from typing import Any

from ..hooks import NO_HOOKS, Hooks, site
from . import v3
from .common import first_violation

PREFIX = "QMAR-"

QMAR_DIM_BOUND_EXCEEDED = site("qmar.dim_bound_exceeded", "whether a QMAR dimension v exceeds 65535 (v > limit); "
                                                          "context v, limit")
QMAR_NZ_X2_REJECTED = site("qmar.nz_x2_rejected", "whether QMAR rejects x2 for its format (False); context x2")
QMAR_NULL_OPTIONAL_REJECTED = site("qmar.null_optional_rejected", "whether QMAR rejects a null optional tensor "
                                                                  "(False); context bias, x3, pertoken")
HOST_SITES = {v3.V3_DIM_BOUND_EXCEEDED: QMAR_DIM_BOUND_EXCEEDED, v3.V3_NZ_X2_REJECTED: QMAR_NZ_X2_REJECTED,
              v3.V3_NULL_OPTIONAL_REJECTED: QMAR_NULL_OPTIONAL_REJECTED}


class OwnSites:
    """Hooks seen through an operator's own sites: at a site with an alias, the alias is asked after the site,
    with the value the site gave and the same context."""

    def __init__(self, hooks: Hooks, aliases: dict[str, str]):
        self.hooks, self.aliases = hooks, aliases

    def at(self, site: str, value: Any, **context) -> Any:
        value = self.hooks.at(site, value, **context)
        own = self.aliases.get(site)
        return value if own is None else self.hooks.at(own, value, **context)


def _renamed(rules):
    for cid, status, message in rules:
        yield PREFIX + cid.removeprefix("V3-"), status, message


def validate(op, tensors, attrs, world_size, hooks: Hooks = NO_HOOKS):
    own = OwnSites(hooks, HOST_SITES)
    return first_violation(_renamed(v3._rules(op, tensors, attrs, world_size, own)), hooks)
