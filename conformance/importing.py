"""Import an object by its path `package.module:attr` (rank programs, seams, backends): the lowest layer,
so the rank engine can use it without importing the backends above it."""

from __future__ import annotations

import importlib


def import_attr(path: str):
    """The object an import path `package.module:attr` names."""
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)
