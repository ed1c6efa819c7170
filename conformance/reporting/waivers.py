"""Waivers, in the Khronos style: the only way to accept a known failure, and every use of one is visible.

A waiver file (TOML) holds entries:

    [[waiver]]
    pattern = "cases/test_v3.py::test_valid[v3-*-nox3-*]"  # the pytest node id; only * and ? are wildcards
                                                           # (or a list of such patterns: any may match)
    reason = "x3 null rejected: the vendor reads V3-AMB-001 restrictively"
    issue = "https://example.invalid/tracker/123"
    cann_versions = ["8.0.RC2"]                            # optional: applies only to these CANN versions
    expires = 2027-03-31                                   # the waiver stops applying after this day

A waived failure is reported as waived (pytest shows it as xfailed, with the reason); the verdict becomes
"PASS WITH WAIVERS". A waiver that matches no collected test, one that has expired and one whose CANN versions
exclude the run are reported at the end of the run and in the summary.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

REQUIRED = ("pattern", "reason", "issue", "expires")
PATTERN_SEPARATOR = " | "  # how a list of patterns is held (and shown) in one Waiver
KNOWN = set(REQUIRED) | {"cann_versions"}


class WaiverError(ValueError):
    """A malformed waiver file; the message is one line naming the entry and the field."""


@dataclass(frozen=True)
class Waiver:
    pattern: str
    reason: str
    issue: str
    expires: dt.date
    cann_versions: tuple[str, ...] = ()

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(self.pattern.split(PATTERN_SEPARATOR))

    def matches(self, nodeid: str) -> bool:
        # node ids contain [ ]: unlike fnmatch, only * and ? are wildcards here
        for pattern in self.patterns:
            regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
            if re.fullmatch(regex, nodeid) is not None:
                return True
        return False

    def state(self, *, today: dt.date, cann_version: str | None) -> str:
        """active | expired | other-version"""
        if today > self.expires:
            return "expired"
        if self.cann_versions and cann_version not in self.cann_versions:
            return "other-version"
        return "active"

    def label(self) -> str:
        return f"waived: {self.reason} ({self.issue}; expires {self.expires.isoformat()})"


def load(path: str | Path) -> list[Waiver]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise WaiverError(f"--waivers {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise WaiverError(f"--waivers {path}: not valid TOML ({exc})") from None
    entries = data.get("waiver", [])
    if not isinstance(entries, list):
        raise WaiverError(f"--waivers {path}: expected [[waiver]] entries")
    waivers = []
    for i, e in enumerate(entries, 1):
        where = f"--waivers {path}: waiver {i}"
        missing = [f for f in REQUIRED if f not in e]
        unknown = sorted(set(e) - KNOWN)
        if missing:
            raise WaiverError(f"{where} lacks {', '.join(missing)}")
        if unknown:
            raise WaiverError(f"{where} has unknown field {unknown[0]!r} (known: {', '.join(sorted(KNOWN))})")
        expires = e["expires"]
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise WaiverError(f"{where}: expires {expires!r} is not a date (YYYY-MM-DD)") from None
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            raise WaiverError(f"{where}: expires must be a date (YYYY-MM-DD)")
        versions = e.get("cann_versions", [])
        if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
            raise WaiverError(f"{where}: cann_versions must be a list of strings")
        patterns = e["pattern"] if isinstance(e["pattern"], list) else [e["pattern"]]
        if not patterns or not all(isinstance(p, str) and p.strip() and PATTERN_SEPARATOR not in p for p in patterns):
            raise WaiverError(f"{where}: pattern must be a non-empty string or a list of them")
        for f in ("reason", "issue"):
            if not isinstance(e[f], str) or not e[f].strip():
                raise WaiverError(f"{where}: {f} must be a non-empty string")
        waivers.append(Waiver(PATTERN_SEPARATOR.join(patterns), e["reason"], e["issue"], expires, tuple(versions)))
    return waivers


class WaiverBook:
    """Applies waivers to failures and remembers what each waiver did, for the end-of-run report."""

    def __init__(self, waivers: list[Waiver], *, cann_version: str | None, today: dt.date | None = None):
        self.waivers = waivers
        self.cann_version = cann_version
        self.today = today or dt.date.today()
        self.matched: dict[int, int] = {}  # waiver index -> collected tests it matches
        self.used: dict[int, int] = {}  # waiver index -> failures it waived

    def note_collected(self, nodeids):
        for i, w in enumerate(self.waivers):
            self.matched[i] = sum(1 for n in nodeids if w.matches(n))

    def waiver_for(self, nodeid: str) -> Waiver | None:
        for i, w in enumerate(self.waivers):
            if w.matches(nodeid) and w.state(today=self.today, cann_version=self.cann_version) == "active":
                self.used[i] = self.used.get(i, 0) + 1
                return w
        return None

    def findings(self) -> list[str]:
        lines = []
        for i, w in enumerate(self.waivers):
            state = w.state(today=self.today, cann_version=self.cann_version)
            if self.matched.get(i, 0) == 0:
                lines.append(f"waiver {w.pattern!r} matches no collected test ({w.issue})")
            if state == "expired":
                lines.append(f"waiver {w.pattern!r} expired on {w.expires.isoformat()} "
                             f"and no longer applies ({w.issue})")
            elif state == "other-version":
                lines.append(f"waiver {w.pattern!r} is for CANN {', '.join(w.cann_versions)}, not "
                             f"{self.cann_version or 'an unknown version'}: not applied ({w.issue})")
        return lines
