"""The fuzz profile: `pytest cases/test_fuzz.py --mc2-fuzz-examples N` (left out of ordinary runs).

Hypothesis draws cases over each input space and judges them with the same checks as the fixed cases. The
example database (--mc2-fuzz-db) is a directory, safe under xdist; under CI the `ci` hypothesis profile (conftest.py)
derandomises the run, and `--hypothesis-seed` pins it elsewhere. A failure prints the minimal case and the
command that freezes it as a regression.
"""

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from conformance.fuzz.spaces import spaces
from conformance.fuzz.strategies import cases
from conformance.judge import run_case


@pytest.mark.mc2_fuzz
@pytest.mark.parametrize("space", [s for s in spaces() if s != "all"])
def test_fuzz(space, mc2):
    @settings(max_examples=mc2.fuzz_examples, deadline=None, database=DirectoryBasedExampleDatabase(mc2.fuzz_db),
              suppress_health_check=list(HealthCheck))
    @given(case=cases(space))
    def prop(case):
        outcome = run_case(case, mc2.backend, mc2.context.replace(with_metrics=False))
        if outcome.category == "unsupported":
            reject()
        assert outcome.passed, (f"{outcome.report()}\nfreeze it: mc2-conformance fuzz --space {space} --backend "
                                f"{mc2.backend_spec} --export")

    prop()
