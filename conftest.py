"""Repository-level pytest configuration.

The conformance plugin itself (conformance.pytest_plugin) is loaded through its `pytest11` entry point once
the package is installed (`pip install -e .`). Hypothesis profiles for the suite's own tests live here:
`ci` is derandomised so CI runs are reproducible.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=50)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
