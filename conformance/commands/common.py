"""What several commands share: their one-line error (CliError, exit status 2), the suite's cases folder,
pytest in a subprocess, the Allure HTML report and the verdict's reasons (run, report), and the suite's
options on a subparser (run, repro, selfcheck, fuzz)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..context import Context, from_namespace
from ..options import SUITE_OPTIONS, OptionError


DEFAULT_SELFCHECK_DIR = "results/selfcheck"


class CliError(Exception):
    pass


def context_of(a, **switches) -> Context:
    """The judging context of a command line's parsed suite options (options the command lacks keep the
    table's defaults); an invalid value is a CliError naming the option."""
    try:
        return from_namespace(a, **switches)
    except OptionError as exc:
        raise CliError(str(exc)) from None


def add_cases_option(p) -> None:
    """--cases DIR, of the commands that run pytest on the suite's test modules (run, constraints, selfcheck)."""
    p.add_argument("--cases", default="cases", metavar="DIR",
                   help="folder of the suite's test modules (default: cases in the current folder, i.e. run from "
                        "the repository root)")


def cases_dir(a) -> Path:
    """The suite's test modules: --cases DIR, by default ./cases. The repository folder is never looked up from the
    package's own location: an installed package has no repository next to it."""
    path = Path(a.cases)
    if not path.is_dir() or not any(path.glob("test_*.py")):
        shown = a.cases if path.is_absolute() or a.cases.startswith(".") else f"./{a.cases}"
        raise CliError(f"no suite cases in {shown}: run from the repository root or pass --cases DIR")
    return path.resolve()


def run_pytest(args: list[str], **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], env=env, **kw)


def allure_html(result_dirs: list[Path], out: Path) -> str:
    """Build the Allure 3 HTML report with the npm package `allure` (Node only, no Java); one line either way."""
    npx = shutil.which("npx")
    if npx is None:
        return "allure report: skipped: Node.js (npx) not found; install Node, then `npm install -g allure@3`"
    probe = subprocess.run([npx, "--no-install", "allure", "--version"], capture_output=True, text=True)
    if probe.returncode != 0:
        return "allure report: skipped: the npm package 'allure' is not installed (`npm install -g allure@3`)"
    sources = [str(d / "allure-results") for d in result_dirs if (d / "allure-results").is_dir()]
    proc = subprocess.run([npx, "--no-install", "allure", "generate", *sources, "-o", str(out / "allure-report")],
                          capture_output=True, text=True, cwd=result_dirs[0])  # cwd: its allurerc.mjs (categories)
    if proc.returncode != 0:
        return f"allure report: failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"
    return f"allure report: {out / 'allure-report' / 'index.html'}"


def allure_built(line: str, out: Path) -> bool:
    """allure_html's line says it built the report now (not skipped or failed, leaving an old one behind)."""
    index = out / "allure-report" / "index.html"
    return line == f"allure report: {index}" and index.exists()


def print_reasons(s) -> None:
    """The verdict's reasons under a verdict that is not a pass (s: results.Summary)."""
    if not s.verdict.startswith("PASS"):
        for reason in s.verdict_reasons:
            print(f"  why: {reason}")


def add_suite_options(p, *, profile=True, run=False, only: tuple[str, ...] | None = None,
                      defaults: dict[str, tuple[str, str]] | None = None):
    """The suite options of options.SUITE_OPTIONS (one definition with the pytest plugin's): the case-selecting
    ones with `profile`, the judging ones only `run` passes to pytest with `run` (or the flags in `only`).
    `defaults`: flag -> (default, why) where a command's default differs from the table's, stated in its help."""
    for o in SUITE_OPTIONS:
        wanted = o.flag in only if only is not None else not ((o.selects and not profile) or (o.run_only and not run))
        if wanted:
            add_suite_option(p, o, *(defaults or {}).get(o.flag, (None, "")))


def add_suite_option(p, o, default: str | None = None, why: str = "") -> None:
    """One suite option on a subparser, as text: the judging context (context_of) reads and checks it, so the
    command line and the plugin accept and refuse the same values. Unset, it keeps the table's default, or this
    command's `default` (its help says so, and why)."""
    if o.switch:
        p.add_argument(o.flag, action="store_true", help=o.help)
        return
    # no argparse choices: the table reads and checks the text (case-insensitive where it says so), so both spellings
    # accept and refuse the same values with the same one line
    kw = {"metavar": "{" + ",".join(o.choices) + "}" if o.choices else None, "default": default,
          "help": o.help if default is None else f"{o.help}; here default {default}: {why}"}
    if o.repeat:
        kw["action"] = "append"
    p.add_argument(o.flag, **kw)
