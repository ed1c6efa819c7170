"""The data path's layers know only the ones below them: checked on the import graph, in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

import pytest

# module -> packages it must not pull in
RULES = [
    ("conformance.engine.worker", ("conformance.backends", "pytest")),
    ("conformance.engine", ("conformance.backends", "pytest")),
    ("conformance.sim", ("pytest",)),
    ("conformance.sim.cann.backend", ("pytest",)),
    ("conformance.backends", ("pytest",)),
    ("conformance.judge", ("pytest",)),
    ("conformance.spec", ("conformance.casegen", "conformance.sim", "conformance.backends", "pytest")),
    ("conformance.reporting", ("conformance.casegen", "conformance.spec", "conformance.sim", "conformance.backends")),
    ("conformance.reporting.diff", ("conformance.casegen", "conformance.spec", "conformance.sim",
                                    "conformance.backends", "pytest")),
    ("conformance.reporting.allure_results", ("conformance.casegen", "conformance.spec", "conformance.sim",
                                              "conformance.backends", "pytest")),
    ("conformance.results", ("conformance.casegen", "conformance.spec", "conformance.sim", "conformance.backends",
                             "conformance.reporting", "conformance.pytest_plugin", "pytest")),
]


@pytest.mark.parametrize("module,forbidden", RULES, ids=[r[0] for r in RULES])
def test_module_does_not_import_upward(module, forbidden):
    code = (f"import sys, {module}\n"
            f"bad = [m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in {forbidden!r})]\n"
            f"print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert not out, f"{module} imports {out}"


def test_one_definition_of_the_world_sizes():
    from conformance.casegen import model as casegen_model
    from conformance.hw import leasing
    from conformance.spec import model
    from conformance.sim import validate_marn, validate_v3
    assert casegen_model.VALID_WORLD_SIZES is model.VALID_WORLD_SIZES
    assert leasing.VALID_SIZES is model.VALID_WORLD_SIZES
    assert validate_marn.VALID_WORLD_SIZES is model.VALID_WORLD_SIZES is validate_v3.VALID_WORLD_SIZES
