"""Compatibility alias: the module lives in conformance.reporting.waivers."""

import sys

from .reporting import waivers as _moved

sys.modules[__name__] = _moved  # `conformance.waivers` *is* the moved module (isinstance, monkeypatching included)
