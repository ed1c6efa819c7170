"""Comparisons of a backend's output against the reference, each returning a `Check` with a message that
says what was expected. Nothing here knows pytest; the caller decides what a failed check means.

- bounded:  |actual - ref| <= bound elementwise; NaN/inf in actual where ref is finite always fails.
- exact:    bit-for-bit equality with the exactly known result (verifiable cases).
- balance:  the signed error, oriented by the sign of the reference, must not lean one way. Round-to-nearest
            gives each nonzero error an even chance of either sign (mean 0, sd 1/sqrt(count)); truncation or
            round-up gives a balance near -1 or +1. Fails when |balance| > max(0.25, 6/sqrt(count)) (a 6-sigma
            test, so a correct device fails it with probability < 2e-9); needs >= 64 nonzero errors to judge.
Arrays may hold 10^8 elements: every function converts its input to float32 once and reuses the error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PLOT_SAMPLE = 400  # failing checks keep their worst elements (|reference|, |error|, bound) for the report's plot
BALANCE_MIN_COUNT = 64
BALANCE_FLOOR = 0.25
BALANCE_SIGMAS = 6.0


@dataclass
class Check:
    name: str  # e.g. "rank 3 y: error bound"
    passed: bool
    message: str
    stats: dict = field(default_factory=dict)
    category: str = ""  # the Outcome category a failure of this check gives (judge); "" -> bad_output


def _fmt_index(flat: int, shape) -> str:
    return str(tuple(int(i) for i in np.unravel_index(flat, shape))) if len(shape) else "()"


def to_f32(a) -> np.ndarray:
    return np.asarray(a).astype(np.float32, copy=False)


def bounded(name: str, actual: np.ndarray, ref: np.ndarray, bound: np.ndarray, *,
            balance_name: str | None = None) -> list[Check]:
    """The elementwise bound check, and (if balance_name is given) the balance check on the same error."""
    a = to_f32(actual)
    if a.shape != ref.shape:
        return [Check(name, False, f"{name}: shape {a.shape}, expected {ref.shape}")]
    if a.size == 0:
        return [Check(name, True, f"{name}: empty", {"elements": 0})]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        signed = a - ref
        err = np.abs(signed)
        checkable = np.isfinite(bound)
        bad = ~(err <= bound)  # NaN error (NaN or inf output) counts as bad
        bad &= checkable
        ratio = err / bound
    n_bad = int(np.count_nonzero(bad))
    n_checked = int(np.count_nonzero(checkable))
    ratio[~checkable] = 0.0
    max_ratio = float(np.nanmax(ratio)) if not bad.any() else float("inf")
    stats = {"elements": int(a.size), "checked": n_checked, "failed": n_bad, "max_ratio": max_ratio,
             "unchecked": int(a.size - n_checked)}
    checks = []
    if n_bad == 0:
        checks.append(_passed(name, n_checked, max_ratio, stats))
    else:
        ratio[~bad] = -1.0
        worst = int(np.argmax(np.nan_to_num(ratio, nan=np.inf)))
        idx = _fmt_index(worst, a.shape)
        stats.update(worst_index=idx, worst_actual=float(a.flat[worst]), worst_reference=float(ref.flat[worst]),
                     worst_bound=float(bound.flat[worst]))
        flat_ratio = np.nan_to_num(ratio.reshape(-1), nan=np.inf, posinf=np.inf)
        top = np.argsort(-np.where(checkable.reshape(-1), flat_ratio, -np.inf))[:PLOT_SAMPLE]
        stats["sample"] = {"reference": [float(v) for v in np.abs(ref.reshape(-1)[top])],
                           "error": [float(v) for v in np.nan_to_num(err.reshape(-1)[top], nan=np.inf)],
                           "bound": [float(v) for v in bound.reshape(-1)[top]]}
        checks.append(Check(name, False, f"{name}: {n_bad} of {n_checked} elements outside the error bound; "
                                         f"worst at {idx}: got {float(a.flat[worst])!r}, reference "
                                         f"{float(ref.flat[worst])!r}, |error| {err.flat[worst]:.6g} > bound "
                                         f"{bound.flat[worst]:.6g}", stats, category="tolerance"))
    if balance_name:
        checks.append(_balance(balance_name, signed, ref))
    return checks


def _passed(name: str, n_checked: int, max_ratio: float, stats: dict) -> Check:
    return Check(name, True, f"{name}: all {n_checked} elements within bound (worst error/bound {max_ratio:.3g})",
                 stats)


class BoundedBlocks:
    """`bounded` fed one row block at a time, for outputs of 10^8 elements: counts, the worst ratio and the
    balance counts add up over blocks, so a passing check is identical to `bounded` on the whole arrays.
    A failing one (`failed`) carries the worst element and a plot sample: the caller reruns `bounded` on the
    whole arrays for it, so failures are reported exactly as before (at the old memory cost, on failure only)."""

    def __init__(self, name: str, *, balance_name: str | None = None):
        self.name, self.balance_name = name, balance_name
        self.elements = self.n_bad = self.n_checked = self.away = self.toward = 0
        self._maxima = []

    def add(self, actual: np.ndarray, ref: np.ndarray, bound: np.ndarray) -> None:
        """Count one block: `bounded`'s arithmetic, in place, without its masking passes where every bound is
        finite (the common case)."""
        a = np.array(actual, dtype=np.float32)  # a fresh float32 copy: it becomes the signed error in place
        self.elements += int(a.size)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            signed = np.subtract(a, ref, out=a)
            if self.balance_name:
                away, toward = _balance_counts(signed, ref)
                self.away += away
                self.toward += toward
            err = np.abs(signed, out=signed)
            checkable = np.isfinite(bound)
            n_checkable = int(np.count_nonzero(checkable))
            self.n_checked += n_checkable
            if n_checkable == a.size:  # nothing to mask
                self.n_bad += int(a.size) - int(np.count_nonzero(np.less_equal(err, bound)))
                ratio = np.divide(err, bound, out=err)
            else:
                bad = ~(err <= bound)  # NaN error (NaN or inf output) counts as bad
                bad &= checkable
                self.n_bad += int(np.count_nonzero(bad))
                ratio = np.divide(err, bound, out=err)
                ratio[~checkable] = 0.0
        self._maxima.append(np.fmax.reduce(ratio, axis=None))  # nanmax without its all-NaN warning

    @property
    def failed(self) -> bool:
        return self.n_bad > 0

    def checks(self) -> list[Check]:
        assert not self.failed, "a failing blocked check is rerun whole (compare.bounded)"
        max_ratio = float(np.nanmax(np.array(self._maxima)))
        stats = {"elements": self.elements, "checked": self.n_checked, "failed": 0, "max_ratio": max_ratio,
                 "unchecked": self.elements - self.n_checked}
        checks = [_passed(self.name, self.n_checked, max_ratio, stats)]
        if self.balance_name:
            checks.append(_balance_check(self.balance_name, self.away, self.toward))
        return checks


def _balance_counts(signed: np.ndarray, ref: np.ndarray) -> tuple[int, int]:
    """(away, toward): nonzero errors pointing away from zero and toward zero (oriented by the reference)."""
    with np.errstate(invalid="ignore"):
        up = signed > 0
        down = signed < 0
        pos = ref > 0
        neg = ref < 0
    away = int(np.count_nonzero(up & pos) + np.count_nonzero(down & neg))
    toward = int(np.count_nonzero(down & pos) + np.count_nonzero(up & neg))
    return away, toward


def _balance(name: str, signed: np.ndarray, ref: np.ndarray) -> Check:
    return _balance_check(name, *_balance_counts(signed, ref))


def _balance_check(name: str, away: int, toward: int) -> Check:
    count = away + toward
    if count < BALANCE_MIN_COUNT:
        return Check(name, True, f"{name}: {count} nonzero errors, too few to judge the balance",
                     {"count": count, "balance": None})
    b = (away - toward) / count
    limit = max(BALANCE_FLOOR, BALANCE_SIGMAS / np.sqrt(count))
    stats = {"count": count, "balance": b, "limit": limit}
    if abs(b) <= limit:
        return Check(name, True, f"{name}: error balance {b:+.3f} within +-{limit:.3f} over {count} errors", stats)
    lean = "toward zero (truncation?)" if b < 0 else "away from zero"
    return Check(name, False, f"{name}: signed error leans {lean}: balance {b:+.3f} over {count} nonzero errors, "
                              f"limit +-{limit:.3f}; round-to-nearest gives ~0", stats, category="tolerance")


def exact(name: str, actual: np.ndarray, expected: np.ndarray) -> Check:
    a = to_f32(actual)
    if a.shape != expected.shape:
        return Check(name, False, f"{name}: shape {a.shape}, expected {expected.shape}")
    # the exact result is representable in the output dtype, so the float32 values must be equal
    bad = ~(a == expected)
    n_bad = int(np.count_nonzero(bad))
    if n_bad == 0:
        return Check(name, True, f"{name}: all {a.size} elements exact", {"elements": int(a.size), "failed": 0})
    worst = int(np.argmax(np.where(bad, np.nan_to_num(np.abs(a - expected), nan=np.inf), -1)))
    return Check(name, False, f"{name}: {n_bad} of {a.size} elements differ from the exact result; worst at "
                              f"{_fmt_index(worst, a.shape)}: got {float(a.flat[worst])!r}, exact "
                              f"{float(expected.flat[worst])!r}", {"elements": int(a.size), "failed": n_bad},
                 category="exact_mismatch")


def identical_on_every_rank(results, spec, name: str = "output"):
    """Checks that every rank returned `name` with `spec`'s shape and dtype and that all ranks hold the same bits
    (an all-reduce hands each rank the same result). A generator of Checks (`yield from` it): it returns every
    rank's array, or None after the first rank whose output is missing or misshapen."""
    outs = []
    for r, res in enumerate(results):
        out = res.outputs.get(name)
        label = f"rank {r} {name}"
        if out is None:
            yield Check(label, False, f"{label}: missing from the backend's outputs")
            return None
        out = np.asarray(out)
        if tuple(out.shape) != tuple(spec.shape) or str(out.dtype) != spec.dtype:
            yield Check(label, False, f"{label}: {out.dtype}{tuple(out.shape)}, expected "
                                      f"{spec.dtype}{tuple(spec.shape)}")
            return None
        outs.append(out)
    differing = [r for r in range(1, len(outs))
                 if not np.array_equal(outs[r].view(np.uint16), outs[0].view(np.uint16))]
    yield Check("cross-rank identity", not differing,
                f"cross-rank identity: ranks {differing} differ from rank 0 (an all-reduce gives every rank "
                f"the same result)" if differing else "every rank holds the same output",
                category="cross_rank_mismatch")
    return outs
