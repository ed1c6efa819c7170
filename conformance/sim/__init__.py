"""The CPU simulator backend: the documented contract plus the device's rounding points, ranks in-process."""

from .backend import SimOptions, SimulatorBackend
from .faults import Fault

__all__ = ["SimulatorBackend", "SimOptions", "FAULTS", "Fault"]


def __getattr__(name: str):
    if name == "FAULTS":  # assembled on first use (sim/faults.py): importing the backend imports no fault module
        from .faults import FAULTS
        return FAULTS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
