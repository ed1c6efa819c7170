"""The draws every operator's fuzz space shares: sizes that lean toward boundaries and odd values, world sizes,
and the seed of a drawn case's inputs (so a shrunk failure replays exactly)."""

from __future__ import annotations

from hypothesis import strategies as st

from ..casegen.model import VALID_WORLD_SIZES

EDGE_SIZES = (1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 61, 64, 65, 127, 128)


def dims(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = [d for d in EDGE_SIZES if lo <= d <= hi] + [lo, hi]
    return st.one_of(st.sampled_from(sorted(set(edges))), st.integers(lo, hi))


world_sizes = st.sampled_from(VALID_WORLD_SIZES)
input_seeds = st.integers(0, 2**32 - 1)
