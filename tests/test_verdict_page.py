"""The one-page verdict in a real headless browser (Debian's Chromium): it renders, its matrix has one cell per
constraint x world size x dtype, and it loads nothing from the network. Skipped where Chromium is absent."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.report import MATRIX_DTYPES, MATRIX_WORLD_SIZES
from conformance.spec import CONSTRAINTS

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(tmp_path, *args):
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--profile", "smoke", "-n", "2", "--fault",
                    "no-gamma", "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    return out


def test_verdict_page_renders_with_the_full_matrix(failing_run, tmp_path):
    page = failing_run / "summary.html"
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "MC2 conformance sign-off" in dom and "FAIL" in dom
    assert dom.count("class=\"cell ") == len(CONSTRAINTS) * len(MATRIX_WORLD_SIZES) * len(MATRIX_DTYPES)
    assert "cell fail" in dom and "cell pass" in dom


def page_requests(tmp_path, page: Path) -> list[str]:
    """http(s) requests the page itself initiated. Chromium's own background traffic (network time, component
    updates, accounts) carries the initiator 'not an origin' and is not the page's doing."""
    netlog = tmp_path / f"{page.stem}-netlog.json"
    shot = tmp_path / f"{page.stem}.png"
    proc = chromium(tmp_path, f"--log-net-log={netlog}", f"--screenshot={shot}", "--window-size=1400,1600",
                    page.as_uri())
    assert shot.exists() and shot.stat().st_size > 10_000, proc.stderr[-500:]
    text = netlog.read_text()
    try:
        log = json.loads(text)
    except ValueError:  # a log cut short at exit
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    return [e["params"]["url"] for e in log["events"]
            if names.get(e["type"]) == "URL_REQUEST_START_JOB" and e["params"].get("url", "").startswith("http")
            and e["params"].get("initiator") != "not an origin"]


def test_verdict_page_loads_nothing_from_the_network(failing_run, tmp_path):
    assert page_requests(tmp_path, failing_run / "summary.html") == []


def test_the_network_check_can_fail(failing_run, tmp_path):
    """A test-local variant of the page with one remote image: the check must see it."""
    bad = tmp_path / "remote.html"
    bad.write_text((failing_run / "summary.html").read_text().replace(
        "</body>", "<img src='http://127.0.0.1:9/pixel.png'></body>"))
    assert page_requests(tmp_path, bad) == ["http://127.0.0.1:9/pixel.png"]
