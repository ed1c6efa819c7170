"""Compatibility alias: the sign-off summary lives in conformance.reporting.summary (the page model and its
Markdown / HTML renderings in conformance.reporting.page)."""

import sys

from .reporting import summary as _moved

sys.modules[__name__] = _moved  # `conformance.report` *is* the moved module (private names, monkeypatching)
