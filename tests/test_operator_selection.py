"""--operators: a run of some registered operators only (e.g. the ones torch_npu reaches without MindSpeed)."""

import subprocess
import sys

from conformance import operators
from conformance.options import OptionError, BY_DEST

import pytest


def collected(*args) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "cases", "--mc2-profile", "smoke", *args],
                          capture_output=True, text=True)
    # an operator left without cases keeps its tests as pytest's empty-parameter placeholder (skipped): not a case
    return [line for line in done.stdout.splitlines() if "::" in line and "[NOTSET]" not in line]


def test_only_the_named_operators_cases_are_collected():
    v3 = operators.names()[-1]  # any one registered operator: the last
    only = collected("--mc2-operators", v3)
    every = collected()
    prefix = operators.get(v3).short + "-"
    assert only and all(f"[{prefix}" in line for line in only), only[:3]
    assert len(every) > len(only) and {line for line in only} <= set(every)


def test_an_unknown_operator_is_one_line_naming_the_known_ones():
    with pytest.raises(OptionError) as err:
        BY_DEST["operators"].convert("NoSuchOperator")
    message = str(err.value)
    assert "NoSuchOperator" in message and all(name in message for name in operators.names())
    assert "\n" not in message
