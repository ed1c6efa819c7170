"""Compatibility alias: the module lives in conformance.reporting.allure_results."""

import sys

from .reporting import allure_results as _moved

sys.modules[__name__] = _moved  # `conformance.allure_results` *is* the moved module (monkeypatching included)
