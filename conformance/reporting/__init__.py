"""Reporting: the verdict and its page (summary), the page model and its renderings (page), run diffs (diff),
Allure results (allure_results) and waivers (waivers). It reads what a run wrote (conformance.results) and never
the live case or constraint catalogue."""

from .summary import read_many, read_results, summarise, write_summary

__all__ = ["read_many", "read_results", "summarise", "write_summary"]
