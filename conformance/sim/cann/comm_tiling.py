"""How the MC2 all-reduce family cuts m into communication turns (tile and tail), shared by every operator
of the family: the decisions both MatmulAllReduceAddRmsNorm and QuantMatmulAllReduceV3 inherit from the
MatmulAllReduce tiling (sim/cann/paths.py's vocabulary).

PLACEHOLDER until the reading is modelled: one turn of all m rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from .paths import Branch, PathQuery


@dataclass(frozen=True)
class CommPlan:
    """The turns m is cut into: `tile_count` turns of `tile_m` rows, then `tail_count` turns of `tail_m` rows."""

    tile_m: int
    tile_count: int
    tail_m: int = 0
    tail_count: int = 0

    @property
    def turns(self) -> int:
        return self.tile_count + self.tail_count


BRANCHES: tuple[Branch, ...] = ()


def plan(q: PathQuery, *, m: int, k: int, n: int) -> CommPlan:
    """The turns of one invocation with m rows, k (one rank's share) and n columns."""
    return CommPlan(tile_m=m, tile_count=1 if m else 0)


def decide(q: PathQuery, *, m: int, k: int, n: int) -> dict[str, str]:
    return {}
