"""What several commands share: their one-line error (CliError, exit status 2), the suite's cases folder,
pytest in a subprocess, the Allure HTML report and the verdict's reasons (run, report), and the suite's
options on a subparser (run, repro, selfcheck, fuzz)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..options import SIM_FLAGS, SUITE_OPTIONS, sim_options_from


DEFAULT_SELFCHECK_DIR = "results/selfcheck"


class CliError(Exception):
    pass


def sim_options(a) -> dict:
    return sim_options_from(lambda flag: getattr(a, flag.lstrip("-").replace("-", "_"), None))


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


def print_reasons(s: dict) -> None:
    if not s["verdict"].startswith("PASS"):
        for reason in s.get("verdict_reasons", []):
            print(f"  why: {reason}")


RUN_ONLY = ("--waivers", "--cann-version", "--precision-standard")  # judging options only `run` passes on


def add_suite_options(p, *, profile=True, run=False):
    """The suite options of options.SUITE_OPTIONS (one definition with the pytest plugin's): the case-selecting
    ones with `profile`, the judging ones only `run` passes to pytest with `run`; then the simulator's flags."""
    for o in SUITE_OPTIONS:
        if not ((o.selects and not profile) or (o.flag in RUN_ONLY and not run)):
            add_suite_option(p, o)
    for f in SIM_FLAGS:
        p.add_argument(f.flag, choices=f.choices, help=f"{f.help} (default {f.default})")


def add_suite_option(p, o) -> None:
    kw = {"choices": o.choices, "help": o.help}
    if o.repeat:
        kw["action"] = "append"
    elif o.flag == "--backend":
        kw["default"] = os.environ.get("MC2_BACKEND", "sim")
    elif o.flag == "--seed":
        kw.update(type=int, default=int(o.default))
    elif o.selects:
        kw["default"] = o.default
    p.add_argument(o.flag, **kw)  # others default to None: unset, the plugin's default applies
