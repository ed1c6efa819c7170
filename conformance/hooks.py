"""Hook sites: the points where the simulator's host checks and arithmetic let an injected fault replace a value.

Code that has a hook site asks `hooks.at(SITE, value, **context)` for what it uses: `value` is what the correct
computation uses, `context` what a fault may need to decide on or build its replacement. `NO_HOOKS` (every
backend but the faulted simulator) answers `value` itself; the simulator's active faults (conformance/sim/faults.py
FaultSet) apply the hooks their Fault records declare for the site. No code tests a fault's name: a fault is an
object in sim/faults.py whose hooks hold the perturbation.

Every site is declared here, once, with what its value is. Asking for an undeclared site, or a Fault hooking one,
raises at once (a misspelt site would otherwise never fire, leaving its fault silently untested). This module is
below everything (the validators in conformance/validate, shared with backends that have no faults, import it).
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
        raise UnknownSite(f"hook site {name!r} is not declared (conformance/hooks.py)")
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


# ---- host checks (conformance/validate/) ---------------------------------------------------------------------------
RULE_CHECKED = site("rule_checked", "whether a host-check rule is enforced (True); context cid: its constraint id")
REJECTION_STATUS = site("rejection_status", "the status a violated rule answers (its catalogue code, or 161002 for "
                                            "a rule that rejects a valid input); context cid")
INT32_BOUND_EXCEEDED = site("int32_bound_exceeded", "whether dimension v exceeds INT32_MAX (v > limit); context v, "
                                                    "limit")
TRANSPOSED_X2_REJECTED = site("transposed_x2_rejected", "whether a transposed x2 is rejected as such (False); "
                                                        "context transposed")
MARN_NULL_CODE = site("marn.null_code", "the status of a null required MARN input or output (CATALOGUE: its "
                                        "constraint's code)")
MARN_NULL_BIAS_REJECTED = site("marn.null_bias_rejected", "whether MARN rejects a null bias (False); context bias")
MARN_EMPTY_BS_REJECTED = site("marn.empty_bs_rejected", "whether MARN rejects an empty b*s (False); context m")
MARN_EMPTY_N_REJECTED = site("marn.empty_n_rejected", "whether MARN rejects an empty n (False); context n")
MARN_EPSILON_UPPER = site("marn.epsilon_upper", "the exclusive upper limit of MARN's epsilon (1.0)")
V3_DIM_BOUND_EXCEEDED = site("v3.dim_bound_exceeded", "whether a V3 dimension v exceeds 65535 (v > limit); context "
                                                      "v, limit")
V3_NZ_X2_REJECTED = site("v3.nz_x2_rejected", "whether V3 rejects x2 for its format (False); context x2")
V3_NULL_OPTIONAL_REJECTED = site("v3.null_optional_rejected", "whether V3 rejects a null optional tensor (False); "
                                                              "context bias, x3, pertoken")

# ---- the simulator backend (conformance/sim/backend.py) ------------------------------------------------------------
SIM_HOST_CHECK_HOOKS = site("sim.host_check_hooks", "the hooks the simulator's host checks run with (its own); "
                                                    "context inplace: whether the operator writes in place")
SIM_OUTPUTS = site("sim.outputs", "every rank's outputs of one simulator call (in place); context call: the call's "
                                  "number, from 1")

# ---- MARN arithmetic (conformance/sim/marn_numerics.py) ------------------------------------------------------------
MARN_ROUND = site("marn.round", "the function rounding fp32 values to fp16/bf16 (dtypes.round_to)")
MARN_OWN_ARGUMENTS = site("marn.own_arguments", "the arguments rank r computes with (its own); context ranks, rank")
MARN_X2_MATRIX = site("marn.x2_matrix", "x2 as the float32 (k, n) matrix the matmul reads; context x2: the argument")
MARN_PRODUCT = site("marn.product", "a rank's fp32 x1 @ x2 (rows of it); context x1, x2, dtype")
MARN_BIAS_APPLIED = site("marn.bias_applied", "whether rank r adds its bias (True); context rank")
MARN_PARTIAL = site("marn.partial", "rank r's fp32 partial x1 @ x2 + bias before it is stored; context rank")
MARN_STORED_PARTIALS = site("marn.stored_partials", "the stored partials rank r puts into the all-reduce ([p]); "
                                                    "context rank, world")
MARN_REDUCED = site("marn.reduced", "the all-reduced matmul result (in place)")
MARN_HELD = site("marn.held", "what each rank holds after the all-reduce ([mm] * world); context partials: a callable "
                              "returning every rank's stored partials in rank order, reduce(partials, accumulation)")
MARN_GAMMA = site("marn.gamma", "gamma as the norm applies it ((n,) float32; None: not applied)")
MARN_RMS_AXIS = site("marn.rms_axis", "the axis the mean square is taken over (1)")
MARN_RESIDUAL_SUM = site("marn.residual_sum", "the fp32 sum of a row block of the reduced matmul and the residual; "
                                              "context mm: the matmul's block")
MARN_RSTD = site("marn.rstd", "1 / sqrt(mean square + eps) of a row block; context ms, eps")
MARN_NORM_OUT_BLOCK = site("marn.norm_out_block", "whether this rank's normOut was already perturbed (False), after "
                                                  "a row block was stored; context block (in place), exact: its "
                                                  "fp32 values")
MARN_INPLACE_WRITTEN = site("marn.inplace_written", "what the inplace variant writes into residual (y); context "
                                                    "residual: the argument, norm_out")
MARN_INPLACE_NORM_OUT = site("marn.inplace_norm_out", "the inplace variant's normOut (in place)")

# ---- V3 arithmetic (conformance/sim/v3_numerics.py) ----------------------------------------------------------------
V3_TO_INT8 = site("v3.to_int8", "the cast of fp16 values to int8 (quant.to_int8: half to even, saturating)")
V3_DEQUANT_SCALE = site("v3.dequant_scale", "the fp32 dequantScale values applied; context scale: the argument")
V3_X2_MATRIX = site("v3.x2_matrix", "x2 as the logical (k, n) int8 matrix; context x2: the argument")
V3_ACCUMULATOR_BIAS = site("v3.accumulator_bias", "the bias added to the int32 accumulator (the argument or None)")
V3_DEQUANTISED = site("v3.dequantised", "the fp32 accumulator times dequantScale; context acc, deq")
V3_PERTOKEN_SCALED = site("v3.pertoken_scaled", "the dequantised value times pertokenScale per row; context "
                                                "unscaled, pertoken")
V3_LOCAL_VALUE = site("v3.local_value", "a rank's fp32 value before x3 and the store; context bias: the argument")
V3_LOCAL_X3 = site("v3.local_x3", "the x3 a rank adds to its own value (the argument or None)")
V3_LOCALS = site("v3.locals", "every rank's stored value entering the all-reduce, in rank order; context out_dtype")
V3_COMM_SCALES = site("v3.comm_scales", "(commQuantScale1, commQuantScale2) as the low-bit path applies them")
V3_ALLTOALL_BLOCK = site("v3.alltoall_block", "the rows per all_to_all block (ceil(m / W)); context m, world")
V3_GATHERED = site("v3.gathered", "the low-bit int8 result after all_gather; context block, world")
V3_ALLREDUCED = site("v3.allreduced", "the all-reduced value, flat rows; context x3: rank 0's argument, out_dtype")
V3_REDUCED = site("v3.reduced", "the all-reduced result in the output's shape (in place)")
V3_RANK_OUTPUT = site("v3.rank_output", "rank r's copy of the result (in place); context rank, world")
