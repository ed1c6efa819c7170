"""pytest integration: options, the backend fixture, case parametrization, and the results log.

Loaded by the suite's own conftest.py (`pytest_plugins`), never as a global `pytest11` plugin: pytest in any
other project never sees it. Every option is spelled `--mc2-...` (the `mc2-conformance` command line spells the
same options without the prefix and translates them). The plugin acts only when the session collects the suite's
cases (a path argument that is the folder whose conftest.py declares `mc2_suite_cases = True`, cases/, inside it,
or the folder holding it), or lazily when a test uses its marker or fixtures: only then is the backend loaded
(one-line usage error if it cannot be), MC2_BACKEND / MC2_RANK_DEADLINE read and the allocator tuned
(memory.keep_freed_memory). `pytest tests/...` in the repository leaves all of that alone. The plugin is the only
module that knows pytest; it turns a judged Outcome into pass / fail / skip and adds the one-line repro command to
every failure.

One module per job, each registered as a plugin of its own (`pytest_plugins` below):
  options       the --mc2-... options, the run's settings, whether the session runs the suite's cases
  parametrize   the cases of a test, the collection's order and selection, the coverage file, xdist's tuning
  leasing       the `mc2` fixture and the backend leasing devices per invocation
  running       the `judge_case` fixture: judge, record (results.CaseRecord), label, pass / fail / skip
  results_log   results.jsonl (conformance.results), Allure's run files and crashed tests, waivers
This module holds only the options hook and the names other code imports (never a hook or fixture twice).
"""

from __future__ import annotations

from .leasing import leased_backend
from .options import Settings, add_options, collects_suite_cases, settings
from .parametrize import BLAS_THREAD_VARIABLES, xdist_defaults
from .results_log import ResultsLog, catalogue_facts, run_entry
from .running import case_record, label_case

pytest_plugins = [f"{__name__}.{part}" for part in ("options", "parametrize", "leasing", "running", "results_log")]

__all__ = ["BLAS_THREAD_VARIABLES", "ResultsLog", "Settings", "case_record", "catalogue_facts",
           "collects_suite_cases", "label_case", "leased_backend", "run_entry", "settings", "xdist_defaults"]


def pytest_addoption(parser):
    add_options(parser)
