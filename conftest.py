"""Repository-level pytest configuration.

The conformance plugin (conformance.pytest_plugin) is loaded from here, for pytest runs in this repository only
(`pytest -n 2`, `pytest cases/...`, and `mc2-conformance run`, which runs pytest on cases/): it is not a global
`pytest11` plugin, so pytest in other projects never sees its options or its environment variables.
Hypothesis profiles for the suite's own tests live here too: `ci` is derandomised so CI runs are reproducible.
"""

import os
import sys

from hypothesis import settings

PLUGIN = "conformance.pytest_plugin"
# an install from before the plugin left the `pytest11` entry points has imported it already (entry-point
# plugins load before conftest files): registering the module a second time would be an error
pytest_plugins = [] if PLUGIN in sys.modules else [PLUGIN]

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=50)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
