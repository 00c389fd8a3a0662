"""The course in a real browser: JupyterLab on 127.0.0.1 with a token, driven by headless Chromium.

Runs every cell of a student notebook, moves a widget's slider and asserts that the widget and the plot
it drives changed in the page; opens notebook 02 and asserts the graph SVG renders. Screenshots go to the
test's temporary folder. Skips, saying why, only where Chromium or Playwright is missing.
"""
from __future__ import annotations

import json
import os
import re
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
        pytest.skip("course/ has no notebooks yet: run backprop-lab build")
    root = tmp_path_factory.mktemp("lab")
    for nb in COURSE.glob("*.ipynb"):
        shutil.copy(nb, root / nb.name)
    port, token = free_port(), secrets.token_hex(16)
    settings = root / ".lab-settings"
    # render every cell (no windowing), so prompts and outputs of off-screen cells are in the page; no news popup
    for ext, plugin, value in [("notebook-extension", "tracker", {"windowingMode": "none"}),
                               ("apputils-extension", "notification", {"fetchNews": "false"})]:
        folder = settings / f"@jupyterlab/{ext}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{plugin}.jupyterlab-settings").write_text(json.dumps(value))
    env = dict(os.environ, BACKPROP_LAB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(root / ".jupyter-config"),
               JUPYTERLAB_SETTINGS_DIR=str(settings))
    env.pop("MPLBACKEND", None)  # the page should show inline plots
    env.pop("BACKPROP_LAB_STRICT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
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


def open_and_run_all(browser, lab, notebook, shot_dir, timeout_s=150):
    base, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # a fresh workspace per notebook, so JupyterLab does not reopen the notebooks of an earlier test
    workspace = notebook.split("_")[0]
    page.goto(f"{base}/lab/workspaces/w{workspace}/tree/{notebook}?reset&token={token}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # the status bar reads "Python 3 (ipykernel) | Idle" once the kernel is up
    page.wait_for_function("document.body.innerText.includes('| Idle')", timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    last_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").last
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if re.fullmatch(r"\[\d+\]:", last_prompt.inner_text().strip()):
            break
        page.wait_for_timeout(500)
    else:
        page.screenshot(path=str(shot_dir / f"{notebook}.timeout.png"))
        prompts = [p.strip() for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        pytest.fail(f"{notebook}: the last code cell had not run {timeout_s} s after Run All Cells; "
                    f"prompts: {prompts}; errors shown: {[e[-600:] for e in errors.all_inner_texts()]}")
    return page


def test_widget_slider_drives_plot(browser, lab, tmp_path):
    page = open_and_run_all(browser, lab, "01_finite_differences.ipynb", tmp_path)
    slider = page.locator(".widget-slider .noUi-handle, .widget-hslider .noUi-handle").first
    slider.wait_for(timeout=30_000)
    slider.scroll_into_view_if_needed()
    container = slider.locator("xpath=ancestor::div[contains(@class,'jp-Cell')][1]")
    readout = container.locator(".widget-readout").first.inner_text()
    img = container.locator("img").first
    img.wait_for(timeout=30_000)
    before_src = img.get_attribute("src")
    page.screenshot(path=str(tmp_path / "before.png"))
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    deadline = time.time() + 30
    while img.get_attribute("src") == before_src:  # the locator re-finds the plot if it is redrawn
        assert time.time() < deadline, "moving the slider did not redraw the plot in its cell"
        page.wait_for_timeout(250)
    after_readout = container.locator(".widget-readout").first.inner_text()
    page.screenshot(path=str(tmp_path / "after.png"))
    assert after_readout != readout, "the slider's readout did not change"
    assert (tmp_path / "after.png").stat().st_size > 10_000


def test_graph_svg_renders_in_notebook_02(browser, lab, tmp_path):
    page = open_and_run_all(browser, lab, "02_scalar_chain_rule.ipynb", tmp_path)
    svg = page.locator(".jp-OutputArea-output svg").first
    svg.wait_for(timeout=30_000)
    svg.scroll_into_view_if_needed()
    assert page.locator(".jp-OutputArea-output svg text").count() >= 3
    page.screenshot(path=str(tmp_path / "graph.png"))
