"""The CPU simulator backend: the documented contract plus the device's rounding points, ranks in-process."""

from .backend import SimOptions, SimulatorBackend
from .faults import FAULTS, Fault

__all__ = ["SimulatorBackend", "SimOptions", "FAULTS", "Fault"]
