"""Reporting: the verdict and its page (summary), the page model and its renderings (page), Allure results
(allure_results) and waivers (waivers). conformance.report / .allure_results / .waivers are aliases of these."""

from .summary import read_many, read_results, summarise, write_summary

__all__ = ["read_many", "read_results", "summarise", "write_summary"]
