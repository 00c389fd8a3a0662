"""The course in a real browser: every notebook of course/ run with Run All in JupyterLab, read in both themes.

One JupyterLab server on 127.0.0.1 (random token) over a copy of course/, and one headless Chromium page with
every notebook open in its own tab (so the app loads once and all kernels start together). Each notebook runs
with *Run → Run All Cells*, all at once. Then, in the light theme and again after switching the page to the dark
theme (the kernels' outputs do not depend on the theme, so each notebook runs once), ``tests/browser_checks.js``
measures in each notebook's outputs what a person checks by eye:

- no text with a WCAG 2 contrast ratio under 4.5:1 against its effective background (computed colours; the
  background is found by walking the ancestors and, for SVG text, the shapes painted under it);
- no SVG text rendered smaller than 9 px;
- no widget wider than its output area, no control outside it, no output area scrolling sideways under a widget,
  no widget label cut off, no progress-bar text wrapped;

and, from the notebooks as JupyterLab saved them, that no cell shows an error other than the expected
"not done yet". A notebook made here (``EXTRA``) shows what the package can display that the course does not
use (yet), and plants one defect of each kind, which the checks must find. Moving notebook 01's slider must
redraw its plot; notebook 00's first picture, the teaser graph, must be readable.

Screenshots (``<theme>_<NN>_<what>.png``: the first graph and widget of every notebook, the first check box of
each status) and ``measured.json`` (every finding) are kept in ``screenshots0/`` of pytest's temporary folder:
by default ``/tmp/pytest-of-$USER/pytest-<n>/`` (the three most recent runs are kept; under ``popen-gw<k>/``
when the suite runs on several workers, as ``python -m pytest`` does), or ``--basetemp DIR``; a failing
contrast check names the folder.

Needs Chromium (Debian/Ubuntu: ``sudo apt-get install chromium``; Playwright drives it, no browser download)
and the ``playwright`` package (``pip install -e ".[test]"``). Without them it skips, saying how to enable it.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHECKS_JS = (Path(__file__).parent / "browser_checks.js").read_text(encoding="utf-8")

playwright = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install -e \".[test]\" (the browser test needs it)")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason=(
        "Chromium is not installed, so the real-browser test cannot run. To enable it: "
        "sudo apt-get install chromium (Debian/Ubuntu; .ci/run does this), or put a chromium on PATH")),
    pytest.mark.timeout(600),   # the first test includes running every notebook (about 1-2 min; more when busy)
]

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
MIN_CONTRAST = 4.5      # WCAG 2 AA for normal text
MIN_SVG_PX = 9.0
VIEWPORT = {"width": 1280, "height": 900}
RUN_TIMEOUT_S = 240     # all notebooks together, from Run All to the last cell done
COURSE_NOTEBOOKS = sorted(p.name for p in COURSE.glob("[0-9][0-9]_*.ipynb"))
# and one made here: what the package can show that the course does not (yet), checked the same way
EXTRA = "zz_package_display.ipynb"
EXTRA_CELLS = [
    # a long description on a progress bar (notebook 08's case), made with the helper that keeps it on one line
    'from backprop_lab.widgets.training_monitor import progress_bar\n'
    'with progress_bar(474, desc="seed 001: 784-64-64-10, SGD lr 0.1", unit="step") as bar:\n'
    '    bar.update(474)\n'
    '    bar.set_postfix(test_accuracy="92.10%")',
    # engine source with its docstring's formula rendered
    'import backprop_lab as bl\nfrom backprop_lab import rules\nbl.show_source(rules.Mul)',
    'bl.show_doc(rules, start="| forward")',
    # the doctor's table, and the problem notes of two widgets
    'bl.doctor()',
    'from backprop_lab.widgets import einsum_explorer, shapes\neinsum_explorer.einsum_explorer("ij,jk->iz")',
    'shapes.shapes_widget(W_shape=(5, 10), x_shape=(4, 3))',
    # which package the kernels import: this checkout's (see JUPYTER_DATA_DIR in tests/conftest.py)
    'import json\nprint(json.dumps(bl.__file__))',
]
# canaries: one defect of each kind the checks look for, each of which they must find (else they check nothing)
CANARIES = {
    "lowContrast": 'from IPython.display import HTML\nHTML(\'<p style="color:#999;background:#aaa">canary</p>\')',
    "smallSvgText": 'HTML(\'<svg width="90" height="12"><text x="0" y="9" font-size="7">canary</text></svg>\')',
    "wideWidgets": 'import ipywidgets as w\nw.HBox([w.Button(description="canary")], layout=w.Layout(width="3000px"))',
    "cutLabels": ('from tqdm.notebook import tqdm\n'
                  'display(w.FloatSlider(description="canary: a description far too long for its room"))\n'
                  # tqdm joins words with no-break spaces: a long description wraps at its hyphens (08's did)
                  'with tqdm(total=3, desc="canary: 784-512-256-10-" * 6) as b:\n'
                  '    b.update(3)'),
}
CANARY_CELLS = {kind: len(EXTRA_CELLS) + k for k, kind in enumerate(CANARIES)}
NOTEBOOKS = COURSE_NOTEBOOKS + [EXTRA] if COURSE_NOTEBOOKS else []



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 over a copy of course/, with a random token; light theme to start."""
    if not NOTEBOOKS:
        pytest.skip("course/ has no notebooks yet: run backprop-lab build")
    root = tmp_path_factory.mktemp("lab")
    for name in COURSE_NOTEBOOKS:
        shutil.copy(COURSE / name, root / name)
    cells = [nbformat.v4.new_code_cell(c) for c in EXTRA_CELLS + list(CANARIES.values())]
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}}), root / EXTRA)
    port, token = free_port(), secrets.token_hex(16)
    settings = root / ".lab-settings"
    # render every cell (no windowing), so the outputs of off-screen cells are in the page; no news popup
    for ext, plugin, value in [("notebook-extension", "tracker", {"windowingMode": "none"}),
                               ("apputils-extension", "notification", {"fetchNews": "false"}),
                               ("apputils-extension", "themes", {"theme": THEMES["light"]})]:
        folder = settings / f"@jupyterlab/{ext}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{plugin}.jupyterlab-settings").write_text(json.dumps(value))
    env = dict(os.environ, BACKPROP_LAB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(root / ".jupyter-config"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), BACKPROP_LAB_PROGRESS=str(root / ".progress.json"))
    env.pop("MPLBACKEND", None)  # the page should show inline plots
    env.pop("BACKPROP_LAB_STRICT", None)  # wrong answers show as red boxes, as a learner sees them
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        # its log to a file: a pipe nobody reads fills up with eleven kernels' messages and stalls the server
        cwd=root, env=env, stdout=(root / "jupyterlab.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("JupyterLab exited early:\n" + (root / "jupyterlab.log").read_text(errors="replace"))
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


def request(base, token, path, data=None, method="GET"):
    req = urllib.request.Request(f"{base}{path}?token={token}", method=method,
                                 data=None if data is None else json.dumps(data).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def open_course(browser, lab):
    """One page with every notebook open in its own tab (a workspace): the app loads once, all kernels start."""
    base, token, _ = lab
    # the file browser open on the left, as a learner sees JupyterLab: the notebook is then ~850 px wide
    workspace = {"data": {"layout-restorer:data": {
        "main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": [f"notebook:{n}" for n in NOTEBOOKS]},
                 "current": f"notebook:{NOTEBOOKS[0]}"},
        "left": {"collapsed": False, "visible": True, "current": "filebrowser", "widgets": ["filebrowser"]}}},
        "metadata": {"id": "course"}}
    for name in NOTEBOOKS:
        workspace["data"][f"notebook:{name}"] = {"data": {"path": name, "factory": "Notebook"}}
    request(base, token, "/lab/api/workspaces/course", workspace, "PUT")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{base}/lab/workspaces/course?token={token}", wait_until="domcontentloaded")
    page.wait_for_function(f"document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length > 0 && "
                           f"document.querySelectorAll('.jp-NotebookPanel').length === {len(NOTEBOOKS)}",
                           timeout=120_000)
    return page


def show(page, notebook) -> str:
    """Bring ``notebook``'s tab to the front; return the id of its panel."""
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=notebook).first.click()
    page.wait_for_function("document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden)').length === 1")
    return page.evaluate("document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)').id")


def menu(page, *labels):
    """Click through the menu bar: menu(page, "Run", "Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel", has_text=labels[0]).first.click()
    for label in labels[1:-1]:
        page.locator(".lm-Menu-itemLabel", has_text=label).first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=labels[-1]).first.click()


PROMPTS_JS = """(id) => [...document.getElementById(id).querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                       .map(p => p.textContent.trim())"""


def server_log(lab, chars: int = 4000) -> str:
    """The end of JupyterLab's log (kernel starts, restarts and deaths): what a failed wait needs to say why."""
    return (lab[2] / "jupyterlab.log").read_text(errors="replace")[-chars:]


def run_all(page, lab, shot_dir: Path) -> dict:
    """Run All Cells in every notebook at once; wait until no cell is queued or running in any of them."""
    base, token, _ = lab
    deadline = time.time() + 120
    while True:  # every notebook's kernel started and idle
        sessions = request(base, token, "/api/sessions")
        if len(sessions) == len(NOTEBOOKS) and all(s["kernel"]["execution_state"] == "idle" for s in sessions):
            break
        assert time.time() < deadline, (f"kernels not all idle 120 s after opening the notebooks: {sessions}\n"
                                        f"JupyterLab's log ends:\n{server_log(lab)}")
        time.sleep(0.5)
    panels, start = {}, time.time()
    for name in NOTEBOOKS:
        panels[name] = show(page, name)
        menu(page, "Run", "Run All Cells")
    deadline = start + RUN_TIMEOUT_S
    waiting, took = set(NOTEBOOKS), {}
    while waiting and time.time() < deadline:
        time.sleep(1.0)
        states = {s["path"]: s["kernel"]["execution_state"] for s in request(base, token, "/api/sessions")}
        for name in sorted(waiting):
            shown = page.evaluate(PROMPTS_JS, panels[name])
            # queued and running cells show "[*]:", done ones "[n]:"; Run All stops at an unexpected error
            if shown and "[*]:" not in shown and states.get(name) == "idle":
                waiting.discard(name)
                took[name] = round(time.time() - start)
    if waiting:
        page.screenshot(path=str(shot_dir / "timeout.png"))
    assert not waiting, (f"still running {RUN_TIMEOUT_S} s after Run All Cells: "
                         + "; ".join(f"{n}: prompts {page.evaluate(PROMPTS_JS, panels[n])}" for n in sorted(waiting))
                         + f"\nJupyterLab's log ends:\n{server_log(lab)}")
    menu(page, "File", "Save All")
    return panels, took


def set_theme(page, theme: str):
    menu(page, "Settings", "Theme", THEMES[theme])
    page.wait_for_function(f"document.body.dataset.jpThemeName === {json.dumps(THEMES[theme])}", timeout=30_000)
    page.wait_for_timeout(300)  # let the new colours apply before reading computed styles


# what the package renders: in each theme, a screenshot of the first check box of each status in the course,
# and of the first graph and the first widget of each notebook
SHOT_SELECTORS = {f"check-{status}": f".backprop-lab-check.backprop-lab-{status}"
                  for status in ("pass", "fail", "error", "todo", "invalid")}
SHOT_SELECTORS.update({"graph": ".jp-RenderedHTMLCommon > .backprop-lab-graph",
                       "widget": ".jp-OutputArea-output > .jupyter-widgets"})


def screenshots(page, panel: str, notebook: str, theme: str, shot_dir: Path, taken: set) -> list[Path]:
    shots = []
    for kind, selector in SHOT_SELECTORS.items():
        once = kind.startswith("check")   # check boxes look alike everywhere: once per status
        if once and (kind, theme) in taken:
            continue
        found = page.locator(f"#{panel}").locator(selector)
        if found.count():
            path = shot_dir / f"{theme}_{notebook[:2]}_{kind}.png"
            found.first.screenshot(path=str(path), timeout=15_000, animations="disabled")
            shots.append(path)
            taken.add((kind, theme))
    return shots


@pytest.fixture(scope="module")
def course_run(browser, lab, tmp_path_factory):
    """Every course notebook run once (Run All, all at once) and measured in both themes."""
    shot_dir = tmp_path_factory.mktemp("screenshots")
    start = time.time()
    page = open_course(browser, lab)
    panels, took = run_all(page, lab, shot_dir)
    ran = time.time() - start
    measured, taken = {}, set()
    for theme in THEMES:
        if theme != "light":
            set_theme(page, theme)
        for name in NOTEBOOKS:
            show(page, name)
            measured[name, theme] = page.evaluate(
                CHECKS_JS, {"minContrast": MIN_CONTRAST, "minSvgPx": MIN_SVG_PX, "panel": panels[name]})
            measured[name, theme]["shots"] = screenshots(page, panels[name], name, theme, shot_dir, taken)
    print(f"\nbrowser test: {len(NOTEBOOKS)} notebooks opened and run in {ran:.0f} s (seconds after Run All: "
          f"{took}); measured and photographed in {time.time() - start - ran:.0f} s; screenshots in {shot_dir}")
    (shot_dir / "measured.json").write_text(json.dumps(
        {f"{n} {t}": {k: v for k, v in m.items() if k != "shots"} for (n, t), m in measured.items()}, indent=1))
    set_theme(page, "light")
    yield {"page": page, "panels": panels, "measured": measured, "root": lab[2], "shots": shot_dir}
    page.close()


def saved_errors(root: Path, notebook: str) -> list[tuple[int, str, str]]:
    """(cell index, ename, evalue) of every error output in the notebook as JupyterLab saved it."""
    nb = json.loads((root / notebook).read_text(encoding="utf-8"))
    return [(i, out.get("ename", ""), out.get("evalue", ""))
            for i, cell in enumerate(nb["cells"]) for out in cell.get("outputs", ())
            if out.get("output_type") == "error"]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_run_all_shows_no_error(course_run, notebook):
    """A stub that is not done yet shows a quiet "not done yet" box, never a traceback."""
    errors = saved_errors(course_run["root"], notebook)
    assert not errors, f"{notebook}: Run All shows errors (cell, type, message): {errors}"


def test_kernels_run_this_checkout(course_run):
    nb = json.loads((course_run["root"] / EXTRA).read_text(encoding="utf-8"))
    printed = "".join(nb["cells"][len(EXTRA_CELLS) - 1]["outputs"][0]["text"])
    assert Path(json.loads(printed)).resolve().is_relative_to(ROOT), (
        f"the notebooks' kernels imported {printed.strip()}, not this checkout's backprop_lab ({ROOT}): "
        "a python3 kernelspec elsewhere won (install with pip install -e)")


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_outputs_readable(course_run, notebook, theme):
    m = {k: v for k, v in course_run["measured"][notebook, theme].items()}
    if notebook == EXTRA:
        for kind in CANARIES:
            m[kind] = [f for f in m[kind] if f["cell"] not in CANARY_CELLS.values()]
    assert m["theme"] == THEMES[theme]
    assert m["counts"]["texts"] > 0, f"{notebook}: no output text was measured: {m['counts']}"
    assert not m["lowContrast"], (f"{notebook}, {theme} theme: text with contrast under {MIN_CONTRAST}:1 "
                                  f"(see {course_run['shots']}): {m['lowContrast'][:8]}")
    assert not m["smallSvgText"], f"{notebook}, {theme}: SVG text under {MIN_SVG_PX} px: {m['smallSvgText'][:8]}"
    assert not m["wideWidgets"], f"{notebook}, {theme}: widgets wider than their output area: {m['wideWidgets'][:8]}"
    assert not m["cutLabels"], f"{notebook}, {theme}: widget labels cut off or wrapped: {m['cutLabels'][:8]}"


def test_teaser_graph_is_readable(course_run):
    """Notebook 00's first picture: the graph of an XOR MLP, drawn at a readable size in a scroll container."""
    page = course_run["page"]
    panel = show(page, "00_start_here.ipynb")
    graph = page.locator(f"#{panel} .backprop-lab-graph").last
    graph.scroll_into_view_if_needed()
    sizes = graph.locator("svg text").evaluate_all(
        "ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)")
    assert len(sizes) >= 10 and min(sizes) >= 11, sizes
    box = graph.bounding_box()
    area = graph.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea-output')][1]").bounding_box()
    assert box["width"] <= area["width"] + 1


@pytest.mark.parametrize("theme", THEMES)
def test_the_checks_find_each_planted_defect(course_run, theme):
    m = course_run["measured"][EXTRA, theme]
    for kind, cell in CANARY_CELLS.items():
        assert any(f["cell"] == cell for f in m[kind]), f"{theme}: the {kind} check missed its canary: {m[kind]}"
    whys = {f["why"] for f in m["cutLabels"] if f["cell"] == CANARY_CELLS["cutLabels"]}
    assert whys == {"cut off", "wraps"}, f"{theme}: a cut-off label and a wrapped progress text are planted: {whys}"


def test_formulas_render_and_progress_texts_stay_on_one_line(course_run):
    """What the course's notebooks can switch to (issue 18): show_source, show_doc, progress_bar."""
    page = course_run["page"]
    panel = show(page, EXTRA)
    outputs = page.locator(f"#{panel} .jp-Cell")
    assert outputs.nth(1).locator("mjx-container, .MathJax").count() >= 1, "show_source: the $z = x y$ did not render"
    assert "$" not in outputs.nth(1).locator(".jp-OutputArea-output").inner_text()
    assert outputs.nth(2).locator(".jp-OutputArea-output table").count() == 1, "show_doc: the rule table is not a table"
    row = outputs.nth(0).locator(".widget-hprogress").locator("xpath=..")
    texts = row.locator(":scope > .widget-html").evaluate_all("els => els.map(e => e.getBoundingClientRect().top)")
    assert len(texts) == 2 and abs(texts[0] - texts[1]) < 2, "the progress bar's texts are not on one line"
    m = course_run["measured"][EXTRA, "light"]
    assert m["counts"]["widgets"] >= 3
    assert not [c for c in m["cutLabels"] if c["cell"] not in CANARY_CELLS.values()]


def test_widget_slider_drives_plot(course_run, tmp_path):
    page = course_run["page"]
    panel = show(page, "01_finite_differences.ipynb")
    slider = page.locator(f"#{panel}").locator(".widget-slider .noUi-handle, .widget-hslider .noUi-handle").first
    slider.wait_for(timeout=30_000)
    slider.scroll_into_view_if_needed()
    container = slider.locator("xpath=ancestor::div[contains(@class,'jp-Cell')][1]")
    readout = container.locator(".widget-readout").first.inner_text()
    img = container.locator("img").first
    img.wait_for(timeout=30_000)
    before_src = img.get_attribute("src")
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


def test_graph_svg_renders_in_notebook_02(course_run):
    page = course_run["page"]
    panel = show(page, "02_scalar_chain_rule.ipynb")
    svg = page.locator(f"#{panel} .jp-OutputArea-output svg").first
    svg.wait_for(timeout=30_000)
    assert page.locator(f"#{panel} .jp-OutputArea-output svg text").count() >= 3
