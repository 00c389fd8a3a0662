"""The course in a real browser: JupyterLab on 127.0.0.1 with a token, driven by headless Chromium.

Runs every cell of a student notebook, moves a widget's slider and asserts that the widget and the plot
it drives changed in the page; opens notebook 02 and asserts the graph SVG renders. Screenshots go to the
test's temporary folder. Skips, saying why, only where Chromium or Playwright is missing.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"),
    pytest.mark.timeout(300),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 over a copy of course/, with a random token."""
    if not any(COURSE.glob("0*.ipynb")):
        pytest.skip("course/ has no notebooks yet: run backprop-lab release")
    root = tmp_path_factory.mktemp("lab")
    for nb in COURSE.glob("*.ipynb"):
        shutil.copy(nb, root / nb.name)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, BACKPROP_LAB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(root / ".jupyter-config"))
    env.pop("MPLBACKEND", None)  # the page should show inline plots
    env.pop("BACKPROP_LAB_STRICT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("JupyterLab exited early:\n" + proc.stdout.read().decode(errors="replace"))
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not start within 60 s")
    yield base, token, root
    os.killpg(proc.pid, 15)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def open_and_run_all(browser, lab, notebook, timeout_s=120):
    base, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/{notebook}?token={token}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-KernelStatus-success, "
                           "[data-status='idle']", timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    deadline = time.time() + timeout_s
    page.wait_for_timeout(1000)
    while time.time() < deadline:
        running = page.locator(".jp-InputPrompt", has_text="[*]").count()
        pending = page.locator(".jp-InputPrompt", has_text="[ ]").count()
        if running == 0 and pending == 0:
            break
        page.wait_for_timeout(500)
    else:
        pytest.fail(f"{notebook}: cells were still running after {timeout_s} s")
    return page


def test_widget_slider_drives_plot(browser, lab, tmp_path):
    page = open_and_run_all(browser, lab, "01_finite_differences.ipynb")
    slider = page.locator(".widget-slider .noUi-handle, .widget-hslider .noUi-handle").first
    slider.wait_for(timeout=30_000)
    slider.scroll_into_view_if_needed()
    box = slider.locator("xpath=ancestor::div[contains(@class,'widget-box') or contains(@class,'widget-vbox')][1]")
    container = box if box.count() else page.locator(".jp-OutputArea").first
    readout = page.locator(".widget-readout").first.inner_text()
    img = container.locator("img").first
    img.wait_for(timeout=30_000)
    before_src = img.get_attribute("src")
    page.screenshot(path=str(tmp_path / "before.png"))
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "([sel, before]) => { const i = document.querySelectorAll(sel); return [...i].some(x => x.src !== before); }",
        arg=[".jupyter-widgets-output-area img, .widget-output img", before_src], timeout=30_000)
    after_readout = page.locator(".widget-readout").first.inner_text()
    page.screenshot(path=str(tmp_path / "after.png"))
    assert after_readout != readout, "the slider's readout did not change"
    assert (tmp_path / "after.png").stat().st_size > 10_000


def test_graph_svg_renders_in_notebook_02(browser, lab, tmp_path):
    page = open_and_run_all(browser, lab, "02_scalar_chain_rule.ipynb")
    svg = page.locator(".jp-OutputArea-output svg").first
    svg.wait_for(timeout=30_000)
    svg.scroll_into_view_if_needed()
    assert page.locator(".jp-OutputArea-output svg text").count() >= 3
    page.screenshot(path=str(tmp_path / "graph.png"))
