"""Hook sites: the points where the simulator's host checks and arithmetic let an injected fault replace a value.

Code that has a hook site asks `hooks.at(SITE, value, **context)` for what it uses: `value` is what the correct
computation uses, `context` what a fault may need to decide on or build its replacement. `NO_HOOKS` (every
backend but the faulted simulator) answers `value` itself; the simulator's active faults (conformance/sim/faults.py
FaultSet) apply the hooks their Fault records declare for the site. No code tests a fault's name: a fault is an
object (sim/faults.py, or an operator's own sim/<op>_faults.py) whose hooks hold the perturbation.

Every site is declared once, with `site(name, description)`: the generic ones (asked by the validators' shared
conventions, by several operators, or by the simulator backend) here; an operator's own sites in its module that
asks for them (conformance/validate/<op>.py, conformance/sim/<op>_numerics.py), so a new operator touches no
shared list. Asking for an undeclared site, or a Fault hooking one, raises at once (a misspelt site would otherwise
never fire, leaving its fault silently untested). This module is below everything (the validators in
conformance/validate, shared with backends that have no faults, import it).
"""

from __future__ import annotations

from typing import Any, Protocol

SITES: dict[str, str] = {}  # site name -> what its value is (and its context)


class UnknownSite(KeyError):
    pass


def site(name: str, description: str) -> str:
    if name in SITES:
        raise ValueError(f"hook site {name!r} declared twice")
    SITES[name] = description
    return name


def check_site(name: str) -> str:
    if name not in SITES:
        raise UnknownSite(f"hook site {name!r} is not declared (conformance.hooks.site)")
    return name


class Hooks(Protocol):
    def at(self, site: str, value: Any, **context) -> Any:
        """What the code at `site` uses: `value`, or what an active fault replaces it with."""


class _NoHooks:
    """No fault: every site gets the value the correct computation uses."""

    def at(self, site: str, value, **context):
        if site not in SITES:
            check_site(site)
        return value

    def __repr__(self) -> str:
        return "NO_HOOKS"


NO_HOOKS: Hooks = _NoHooks()


# ---- generic sites ---------------------------------------------------------------------------------------------------
# the host checks' shared conventions (conformance/validate/common.py) and rules several operators check alike
RULE_CHECKED = site("rule_checked", "whether a host-check rule is enforced (True); context cid: its constraint id")
REJECTION_STATUS = site("rejection_status", "the status a violated rule answers (its catalogue code, or 161002 for "
                                            "a rule that rejects a valid input); context cid")
INT32_BOUND_EXCEEDED = site("int32_bound_exceeded", "whether dimension v exceeds INT32_MAX (v > limit); context v, "
                                                    "limit")
TRANSPOSED_X2_REJECTED = site("transposed_x2_rejected", "whether a transposed x2 is rejected as such (False); "
                                                        "context transposed")

# the simulator backend (conformance/sim/backend.py)
SIM_HOST_CHECK_HOOKS = site("sim.host_check_hooks", "the hooks the simulator's host checks run with (its own); "
                                                    "context inplace: whether the operator writes in place")
SIM_OUTPUTS = site("sim.outputs", "every rank's outputs of one simulator call (in place); context call: the call's "
                                  "number, from 1; after_rejection: whether the call before it was rejected")

# the rounding steps of the simulator's arithmetic (docs/rounding-probes.md): each store or cast asks for the
# function it rounds with, so a fault can round exactly one step another way (sim/faults.py rounding_faults)
ROUNDING_STEP = site("rounding_step", "the function one named rounding step rounds with (dtypes.round_to, or "
                                      "quant.to_int8 for the int8 casts); context step: '<op>.<step>'")
