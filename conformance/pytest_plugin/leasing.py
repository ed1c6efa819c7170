"""The backend a test runs on: the run's settings as the `mc2` fixture, and the backend leasing an aligned block
of devices around each invocation (--mc2-devices)."""

from __future__ import annotations

import pytest

from ..hw.leasing import LeasedBackend, block_size
from .options import Settings, settings


@pytest.fixture(scope="session")
def mc2(request) -> Settings:
    """The run's settings: backend, seed, world sizes, tolerance options."""
    return settings(request.config)


def leased_backend(mc2: Settings, case):
    """The backend under test, leasing an aligned block of devices for the case's world size around each
    invocation only (hw.leasing.LeasedBackend); the backend itself without --mc2-devices. A case needing more
    devices than configured skips."""
    if mc2.leaser is None:
        return mc2.backend
    size = block_size(case.world_size)
    if size is None or size > len(mc2.leaser.devices):
        pytest.skip(f"needs {case.world_size} devices, {len(mc2.leaser.devices)} configured with --mc2-devices")
    if mc2.leased is None:
        mc2.leased = LeasedBackend(mc2.backend, mc2.leaser)
    return mc2.leased
