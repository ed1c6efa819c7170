"""The one-page verdict in a real headless browser (Debian's Chromium): it renders, its matrix has one cell per
constraint x world size x dtype, it loads nothing from the network, and the documents' Chinese sentences render as
glyphs, not as empty boxes (that needs a CJK font: fonts-noto-cjk, which .ci/run installs with Chromium).
Skipped where Chromium is absent."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.reporting.summary import MATRIX_DTYPES, MATRIX_WORLD_SIZES
from conformance.spec import CONSTRAINTS

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(tmp_path, *args, env=None):
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, env=env)


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
    assert 'id="legend"' in dom and "not applicable: no case in the catalogue for this cell" in dom


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


# The Chinese sentences: each distinct Han character of the first lang='zh' cell (a document quote in the
# deviations table) is drawn with that cell's computed font on a canvas. Without a CJK font every one of them is
# the same missing-glyph box, identical to the box of a code point no font has (U+10FFFD).
CJK_PROBE = """<script>
function glyph(ch, font) {
  const c = document.createElement('canvas'); c.width = 80; c.height = 80;
  const g = c.getContext('2d'); g.font = font; g.fillStyle = '#000'; g.textBaseline = 'top'; g.fillText(ch, 8, 8);
  return c.toDataURL();
}
const td = document.querySelector("[lang='zh']"), cs = getComputedStyle(td), font = '40px ' + cs.fontFamily;
const chars = [...new Set([...td.textContent].filter(c => /\\p{Script=Han}/u.test(c)))].slice(0, 8);
const box = glyph('\\u{10FFFD}', font);
const out = document.createElement('pre'); out.id = 'cjk-probe';
out.textContent = JSON.stringify({chars: chars.join(''), distinct: new Set(chars.map(c => glyph(c, font))).size,
                                  boxes: chars.filter(c => glyph(c, font) === box).length});
document.body.appendChild(out);
</script></body>"""


def cjk_probe(tmp_path, page: Path, env=None) -> dict:
    probe = tmp_path / "cjk-probe.html"  # a test-local copy: the page itself has no scripts
    probe.write_text(page.read_text().replace("</body>", CJK_PROBE))
    dom = chromium(tmp_path, "--dump-dom", probe.as_uri(), env=env).stdout
    start = dom.index('<pre id="cjk-probe">') + len('<pre id="cjk-probe">')
    return json.loads(dom[start:dom.index("</pre>", start)])


def cjk_fonts() -> list[str]:
    fc = shutil.which("fc-list")
    return subprocess.run([fc, ":lang=zh", "file"], capture_output=True, text=True).stdout.split() if fc else []


def test_chinese_sentences_render_as_glyphs_not_boxes(failing_run, tmp_path):
    assert "lang='zh'" in (failing_run / "summary.html").read_text()
    assert cjk_fonts(), "no CJK font: the Chinese sentences render as empty boxes (apt-get install fonts-noto-cjk)"
    probe = cjk_probe(tmp_path, failing_run / "summary.html")
    assert len(probe["chars"]) >= 4, probe
    assert probe["distinct"] == len(probe["chars"]) and probe["boxes"] == 0, probe


def test_the_cjk_check_can_fail(failing_run, tmp_path):
    """The same page with fontconfig limited to a folder of fonts without CJK: the probe must see boxes."""
    cjk = {Path(f.rstrip(":")).parent for f in cjk_fonts()}
    fonts = Path("/usr/share/fonts")
    plain = sorted(d for d in fonts.rglob("*") if d.is_dir() and d not in cjk
                   and any(p.suffix in (".ttf", ".otf") for p in d.iterdir())) if fonts.is_dir() else []
    if not plain:
        pytest.skip("no font folder without CJK fonts to render with")
    conf = tmp_path / "fonts.conf"
    conf.write_text("<?xml version='1.0'?><!DOCTYPE fontconfig SYSTEM 'fonts.dtd'><fontconfig>"
                    f"<dir>{plain[0]}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>")
    probe = cjk_probe(tmp_path, failing_run / "summary.html", env=dict(os.environ, FONTCONFIG_FILE=str(conf)))
    assert probe["distinct"] == 1 and probe["boxes"] == len(probe["chars"]), probe
