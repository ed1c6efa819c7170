"""Case catalogues of every operator, and selection by profile and world size."""

from __future__ import annotations

from functools import lru_cache

from .. import operators
from . import design, edges, path_design, serial
from .model import PROFILES, Case, selects_world_size


@lru_cache(maxsize=1)
def catalogue() -> tuple[Case, ...]:
    """Every generated case: each operator's families in registry order (a twin's come with its base's), the
    edges and the design cases, the frozen path-designed cases; then the frozen regressions (fuzz findings) of
    conformance/data/regressions.json."""
    cases = catalogue_without_path_cases() + tuple(path_design.frozen()) + tuple(serial.load_regressions())
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise RuntimeError(f"duplicate case ids: {dup[:5]}")
    return cases


def catalogue_without_path_cases() -> tuple[Case, ...]:
    """Each operator's families, the edges and the design cases: what the path design (path_design.py) builds on."""
    families = tuple(c for op in operators.all_operators() if op.cases is not None for c in op.cases())
    return families + tuple(edges.all_cases()) + tuple(design.all_cases())


def select(*, profile: str, world_sizes: tuple[int, ...], kinds: tuple[str, ...] | None = None,
           ops: tuple[str, ...] | None = None, origin: str = "catalogue") -> list[Case]:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    return [c for c in catalogue()
            if c.in_profile(profile) and selects_world_size(c, world_sizes)
            and (kinds is None or c.kind in kinds) and (ops is None or c.op in ops) and c.origin == origin]


def by_id(case_id: str) -> Case:
    for c in catalogue():
        if c.id == case_id:
            return c
    raise KeyError(f"unknown case id {case_id!r}")
