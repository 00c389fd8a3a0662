// What a person checks by eye in a notebook's outputs, measured from the DOM (tests/test_browser.py).
//
// Called as page.evaluate(source, options) once per notebook and theme, with options.panel the id of the
// notebook's (visible) panel. Looks only at cell outputs (.jp-OutputArea-output): everything the package
// renders appears there (check() results, progress tables, graphs, widgets, printed text). Two palettes are
// JupyterLab's own and left out: tracebacks' ANSI colours (an error fails the test anyway) and the syntax
// colours of highlighted code (CodeMirror's generated "ͼ.." classes, the same as in every code cell).
// Returns plain data:
//   lowContrast: visible text whose WCAG 2 contrast ratio against its effective background is < minContrast
//   smallSvgText: SVG <text> rendered smaller than minSvgPx pixels (font size times the SVG's scale)
//   wideWidgets: widgets wider than their output area, or controls (buttons, sliders, ...) outside it
//   cutLabels: widget labels cut off with an ellipsis, or descriptions wrapped onto a second line
//   counts: how much was looked at (so a check that saw nothing is visible as such)
(options) => {
  const { minContrast, minSvgPx, panel } = options;
  const notebook = document.getElementById(panel);
  const outputs = [...notebook.querySelectorAll(".jp-Notebook .jp-OutputArea-output")];

  // ------------------------------------------------------------------ colours
  const parse = (text) => {
    const m = text && text.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;   // "none", "transparent" keywords are resolved to rgba() by getComputedStyle
    const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const over = (top, bottom) => {   // `top` composited over the opaque `bottom`
    const a = top.a;
    return { r: top.r * a + bottom.r * (1 - a), g: top.g * a + bottom.g * (1 - a), b: top.b * a + bottom.b * (1 - a), a: 1 };
  };
  const luminance = (c) => {
    const lin = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
  };
  const ratio = (a, b) => {
    const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  };
  const hex = (c) => "#" + [c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");

  // the layers under a point of `el`, top first: SVG shapes painted before it that contain the point, then
  // the backgrounds of its ancestors; composited from the first opaque one up
  const shapesUnder = (el, x, y) => {
    const svg = el.ownerSVGElement || el.closest("svg");
    if (!svg) return [];
    const layers = [];
    for (const shape of svg.querySelectorAll("rect, ellipse, circle, polygon, path")) {
      if (shape.closest("defs, marker, clipPath, mask")) continue;
      if (!(shape.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)) continue;   // painted after
      const cs = getComputedStyle(shape);
      const fill = parse(cs.fill);
      if (!fill || fill.a === 0 || cs.visibility === "hidden" || cs.display === "none") continue;
      const r = shape.getBoundingClientRect();
      if (x < r.left || x > r.right || y < r.top || y > r.bottom) continue;
      fill.a *= parseFloat(cs.fillOpacity || "1") * parseFloat(cs.opacity || "1");
      layers.push(fill);
    }
    return layers.reverse();
  };
  const background = (el, x, y) => {
    const layers = shapesUnder(el, x, y);
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      if (node instanceof SVGElement && !(node instanceof SVGSVGElement)) continue;
      const bg = parse(getComputedStyle(node).backgroundColor);
      if (bg && bg.a > 0) layers.push(bg);
      if (bg && bg.a >= 1) break;
    }
    let colour = { r: 255, g: 255, b: 255, a: 1 };   // nothing opaque found: the page's white
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const opacity = (el) => {
    let o = 1;
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) o *= parseFloat(getComputedStyle(node).opacity || "1");
    return o;
  };
  const visible = (el) => {
    const cs = getComputedStyle(el);
    if (cs.visibility === "hidden" || cs.display === "none") return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const disabled = (el) => !!el.closest(":disabled, .mod-disabled, [disabled]");
  const describe = (el) => {
    const out = el.closest(".jp-OutputArea-output");
    const cell = el.closest(".jp-Cell");
    const cells = [...notebook.querySelectorAll(".jp-Notebook .jp-Cell")];
    return { cell: cells.indexOf(cell), mime: out ? out.dataset.mimeType || "" : "" };
  };

  // ------------------------------------------------------------------ contrast of every visible text
  const lowContrast = [];
  const seen = new Set();
  let texts = 0;
  const check = (el, text) => {
    if (seen.has(el) || !visible(el) || disabled(el)) return;
    seen.add(el);
    texts += 1;
    const cs = getComputedStyle(el);
    const isSvg = el instanceof SVGElement;
    const fg = parse(isSvg ? cs.fill : cs.color);
    if (!fg) return;
    const r = el.getBoundingClientRect();
    const bg = background(el, r.left + r.width / 2, r.top + r.height / 2);
    fg.a *= opacity(el) * (isSvg ? parseFloat(cs.fillOpacity || "1") : 1);
    const c = ratio(over(fg, bg), bg);
    if (c < minContrast) {
      lowContrast.push({ ...describe(el), text: text.trim().slice(0, 60), ratio: Math.round(c * 100) / 100,
                         color: hex(over(fg, bg)), background: hex(bg) });
    }
  };
  for (const out of outputs) {
    const walker = document.createTreeWalker(out, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const el = node.parentElement;
      if (!el || el.closest("style, script, title, defs, [class*='ansi-']")) continue;
      if (el.closest("pre") && [...el.classList].some((c) => c.startsWith("ͼ"))) continue;
      check(el, node.textContent);
    }
    for (const input of out.querySelectorAll("input[type=text], input:not([type]), textarea, select")) {
      if (input.value) check(input, input.value);
    }
  }

  // ------------------------------------------------------------------ SVG text size
  const smallSvgText = [];
  let svgTexts = 0;
  for (const out of outputs) {
    for (const t of out.querySelectorAll("svg text")) {
      if (!visible(t) || !t.textContent.trim()) continue;
      svgTexts += 1;
      const ctm = t.getScreenCTM();
      const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(ctm.a, ctm.b);
      if (px < minSvgPx) smallSvgText.push({ ...describe(t), text: t.textContent.slice(0, 40), px: Math.round(px * 10) / 10 });
    }
  }

  // ------------------------------------------------------------------ widgets fit their output area
  const wideWidgets = [];
  const cutLabels = [];
  let widgets = 0;
  const controls = "button, input, select, textarea, .widget-slider, .widget-hslider, .slider-container, .widget-checkbox";
  for (const out of outputs) {
    const widgetRoots = [...out.querySelectorAll(".jupyter-widgets")].filter((w) => !w.parentElement.closest(".jupyter-widgets"));
    if (!widgetRoots.length) continue;
    const area = out.getBoundingClientRect();
    for (const root of widgetRoots) {
      if (!visible(root)) continue;
      widgets += 1;
      const r = root.getBoundingClientRect();
      if (r.right > area.right + 1 || r.width > out.clientWidth + 1) {
        wideWidgets.push({ ...describe(root), what: "widget", width: Math.round(r.width), area: Math.round(out.clientWidth) });
      }
      for (const c of root.querySelectorAll(controls)) {
        if (!visible(c)) continue;
        const cr = c.getBoundingClientRect();
        if (cr.right > area.right + 1 || cr.left < area.left - 1) {
          wideWidgets.push({ ...describe(c), what: (c.textContent || c.className).trim().slice(0, 40) || c.tagName,
                             right: Math.round(cr.right), area_right: Math.round(area.right) });
        }
      }
      // a label that ends in "…" because it does not fit
      for (const label of root.querySelectorAll(".widget-label, .widget-label-basic, .widget-label-basic span, label")) {
        if (!visible(label) || !label.textContent.trim()) continue;
        if (getComputedStyle(label).textOverflow === "ellipsis" && label.scrollWidth > label.clientWidth + 1) {
          cutLabels.push({ ...describe(label), text: label.textContent.trim().slice(0, 60), why: "cut off",
                           needs: label.scrollWidth, has: label.clientWidth });
        }
      }
      // a progress bar's description (tqdm) wrapped onto a second line
      for (const bar of root.querySelectorAll(".widget-hprogress")) {
        for (const text of bar.parentElement.querySelectorAll(":scope > .widget-html .widget-html-content")) {
          const cs = getComputedStyle(text);
          const line = parseFloat(cs.lineHeight) || 1.4 * parseFloat(cs.fontSize);
          if (visible(text) && text.getBoundingClientRect().height > 1.6 * line) {
            cutLabels.push({ ...describe(text), text: text.textContent.trim().slice(0, 60), why: "wraps",
                             height: Math.round(text.getBoundingClientRect().height) });
          }
        }
      }
    }
    if (out.scrollWidth > out.clientWidth + 1) {
      wideWidgets.push({ ...describe(out), what: "output area scrolls sideways", scrollWidth: out.scrollWidth, area: out.clientWidth });
    }
  }
  return { lowContrast, smallSvgText, wideWidgets, cutLabels,
           counts: { outputs: outputs.length, texts, svgTexts, widgets },
           theme: document.body.dataset.jpThemeName || "" };
}
