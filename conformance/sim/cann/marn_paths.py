"""sim-cann's path model of the marn operator(s): the published implementation's shape- and flag-dependent
decisions (sim/cann/paths.py's vocabulary), and the side each takes for one invocation.

PLACEHOLDER until the reading is modelled.
"""

from __future__ import annotations

from .paths import Branch, PathQuery

BRANCHES: tuple[Branch, ...] = ()


def decide(q: PathQuery) -> dict[str, str]:
    """{branch id: side} for the decisions this invocation meets."""
    return {}
