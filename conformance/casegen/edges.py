"""Edge cases read off the published implementation: inputs on which its checks are looser or stricter than
the documented rule, or run in another order. Each is an ordinary contract case (one documented rule decides
it); the source merely showed where a device is likely to differ (conformance/spec/deviations.py).

- MARN: reduceOp matched on its first three characters ("summ"), commTurn read as 32 bits (2**32), epsilon
  converted to float before its range check (NaN passes; 1e-50 and 0.9999999999 become 0 and 1), only b*s of
  a 3-D x1 compared with residual's, and the empty-tensor short-cut that returns before the attribute, dtype
  and world-size checks (an invalid attribute on an otherwise valid empty input).
- V3: commTurn read as 32 bits, and a 4-D FRACTAL_NZ x2 that ends the host's shape checks early (a k mismatch,
  a wrong x3 shape or bias length next to an NZ x2).
"""

from __future__ import annotations

import itertools

from . import marn, v3
from .model import VALID_WORLD_SIZES, Case
from .mutate import all_of, null, set_all_dtypes, set_attr, set_shapes, set_tensor

EMPTY_BS = marn.Shape("empty_bs", 0, 4, 16, 32, "")


def _marn_edges(op: str, dt: str):
    """(name, constraint, rejects, shape, mutate) on a TINY (or empty b*s) base case."""
    T = marn.TINY
    other = "float32"

    return [
        ("reduce_summ", "MARN-ATTR-001", True, T, set_attr("reduceOp", "summ")),
        ("commturn_2pow32", "MARN-ATTR-002", True, T, set_attr("commTurn", 2**32)),
        ("eps_nan", "MARN-ATTR-004", True, T, set_attr("epsilon", float("nan"))),
        ("residual_bs_swapped", "MARN-SHAPE-006", True, T, set_shapes(marn.RESIDUAL_LIKE, (2, T.m // 2, T.n))),
        ("eps_0-on_empty_bs", "MARN-ATTR-004", True, EMPTY_BS, set_attr("epsilon", 0.0)),
        ("reduce_max-on_empty_bs", "MARN-ATTR-001", True, EMPTY_BS, set_attr("reduceOp", "max")),
        ("streammode_0-on_empty_bs", "MARN-ATTR-003", True, EMPTY_BS, set_attr("streamMode", 0)),
        ("all_fp32-on_empty_bs", "MARN-DTYPE-001", True, EMPTY_BS, set_all_dtypes(other)),
        ("null_normOut-on_empty_bs", "MARN-NULL-002", True, EMPTY_BS, null("normOut")),
        ("eps1e-50", "MARN-ATTR-004", False, T, set_attr("epsilon", 1e-50)),
        ("eps0.9999999999", "MARN-ATTR-004", False, T, set_attr("epsilon", 0.9999999999)),
    ]


def marn_cases() -> list[Case]:
    cases = []
    for op, dt in itertools.product(marn.OPS, marn.DTYPES):
        for name, cid, rejects, shape, mutate in _marn_edges(op, dt):
            for ws in VALID_WORLD_SIZES:
                t = marn.base_tensors(op, dt, shape)
                a = marn.base_attrs(k=shape.k)
                mutate(t, a)
                covers = [cid] if rejects else marn._numeric_covers(op, x2_transposed=False, with_bias=True,
                                                                     epsilon_edge=True)
                cases.append(marn._case(op, f"{cid}-{name}" if rejects else f"tiny-{name}", dt, ws, t, a,
                                        rejects=rejects, covers=covers, kind="invalid" if rejects else "valid",
                                        profile="signoff"))
        for ws in (3, 6):  # an unsupported world size on an empty input
            t = marn.base_tensors(op, dt, EMPTY_BS)
            cases.append(marn._case(op, f"MARN-WORLD-001-world{ws}-on_empty_bs", dt, ws, t,
                                    marn.base_attrs(k=EMPTY_BS.k), rejects=True, covers=["MARN-WORLD-001"],
                                    kind="invalid", profile="signoff"))
    return cases


def v3_cases() -> list[Case]:
    T = v3.TINY
    row = v3.ROWS[0]  # bf16 output: x3 allowed under every reading of V3-AMB-001
    edges = [
        ("commturn_2pow32", "V3-ATTR-002", "nd", set_attr("commTurn", 2**32)),
        ("k_mismatch-x2nz", "V3-SHAPE-004", "nz", all_of(set_tensor("x1", shape=(T.b, T.s, T.k + 16)))),
        ("x3_shape-x2nz", "V3-SHAPE-006", "nz", set_tensor("x3", shape=(T.b, T.s, T.n + 1))),
        ("bias_len-x2nz", "V3-SHAPE-005", "nz", set_tensor("bias", shape=(T.n + 1,))),
    ]
    cases = []
    for name, cid, layout, mutate in edges:
        for ws in VALID_WORLD_SIZES:
            t = v3.tensors(row, T, x2_layout=layout)
            a = v3.attrs(T.k)
            mutate(t, a)
            cases.append(v3._case(f"{cid}-{name}", row.out, ws, t, a, rejects=True, covers=[cid], kind="invalid",
                                  profile="signoff"))
    return cases


def all_cases() -> list[Case]:
    return marn_cases() + v3_cases()
