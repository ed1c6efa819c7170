"""The rank engine: one worker process per rank, shared-memory tensors, deadlines, crash isolation."""

from .engine import RankEngine
from .group import ProgramError
from .program import GroupChannel, RankCall, RankProgram

__all__ = ["RankEngine", "ProgramError", "GroupChannel", "RankCall", "RankProgram"]
