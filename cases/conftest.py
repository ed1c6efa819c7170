"""Marks this folder as the suite's cases for the conformance plugin (conformance.pytest_plugin): the plugin acts
only in sessions that collect a folder whose conftest.py declares the line below, something inside it, or the
folder above it (`pytest cases/...`, `pytest` in the repository, `mc2-conformance run`)."""

mc2_suite_cases = True
