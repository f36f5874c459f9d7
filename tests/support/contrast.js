// The contrast check of the browser tests (tests/support/contrast.py runs
// it in a page): every visible text, HTML or SVG, against what is drawn
// under it (at least 4.5:1, 3:1 for large text), and every enabled control's
// boundary (its border or its background) against what is around it (at
// least 3:1, where it draws one). Colours are read from computed styles and
// normalised through a canvas; what is under a point is found with
// elementsFromPoint, SVG shapes included. Returns a list of failures.
(() => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const paint = canvas.getContext("2d", { willReadFrequently: true });

  /** Any CSS colour as [r, g, b, a] (0-255, a 0-1). */
  function rgba(colour) {
    if (!colour || colour === "none" || colour === "transparent") return [0, 0, 0, 0];
    paint.clearRect(0, 0, 1, 1);
    paint.fillStyle = "rgba(0, 0, 0, 0)";
    paint.fillStyle = colour;
    paint.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = paint.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  }
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
  };
  const luminance = ([r, g, b]) => {
    const lin = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const ratio = (a, b) => {
    const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  };
  const hex = (c) => `#${c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, "0")).join("")}`;

  const opacityOf = (el) => {
    let o = 1;
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  const SHAPES = new Set(["rect", "path", "circle", "ellipse", "polygon"]);

  /** The colours of a gradient background (each of its stops), or null. */
  function gradientStops(cs) {
    if (!cs.backgroundImage.includes("gradient")) return null;
    return (cs.backgroundImage.match(/rgba?\([^)]*\)|#[0-9a-f]{3,8}\b/gi) || []).map(rgba);
  }

  /**
   * The colours that may be drawn at (x, y) under everything in `skip` (an
   * element and what it holds): one, or one per stop of a gradient there.
   */
  function backgroundsAt(x, y, skip) {
    const layers = [];
    for (const el of document.elementsFromPoint(x, y)) {
      if (skip && (skip === el || skip.contains(el))) continue;
      const cs = getComputedStyle(el);
      let colours;
      if (el instanceof SVGElement) {
        if (!SHAPES.has(el.tagName)) continue;
        const fill = rgba(cs.fill);
        fill[3] *= Number(cs.fillOpacity) * opacityOf(el);
        colours = [fill];
      } else {
        colours = gradientStops(cs) || [rgba(cs.backgroundColor)];
        for (const c of colours) c[3] *= opacityOf(el);
      }
      colours = colours.filter((c) => c[3] > 0);
      if (colours.length) layers.push(colours);
      if (colours.length && colours.every((c) => c[3] >= 0.99)) break;
    }
    let base = rgba(getComputedStyle(document.documentElement).backgroundColor);
    if (base[3] === 0) base = [255, 255, 255, 1];
    let result = [base];
    for (const layer of layers.reverse()) result = layer.flatMap((top) => result.map((under) => over(top, under)));
    return result;
  }

  const shown = (el) => {
    const box = el.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== "hidden" && cs.display !== "none" && opacityOf(el) > 0.05 && !el.closest("[hidden], .CodeMirror-measure");
  };
  const disabled = (el) => Boolean(el.closest(":disabled, [aria-disabled='true']"));
  const name = (el) => {
    const id = el.getAttribute("data-testid") || el.id || "";
    const cls = typeof el.className === "string" ? el.className : el.getAttribute("class") || "";
    return `${el.tagName.toLowerCase()}${id ? `[${id}]` : ""}${cls ? `.${cls.trim().split(/\s+/).join(".")}` : ""}`;
  };

  const failures = [];
  document.documentElement.classList.add("contrast-check");
  const style = document.createElement("style");
  style.textContent = ".contrast-check * { pointer-events: auto !important; transition: none !important; animation: none !important; }";
  document.head.append(style);

  // An open modal dialog is all there is to read: the page behind it is inert.
  const root = document.querySelector("dialog[open]:modal") || document.body;

  // Every text: its colour (HTML color, SVG fill) over what is drawn under its middle.
  const seen = new Set();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || seen.has(el) || !node.textContent.trim() || ["SCRIPT", "STYLE", "NOSCRIPT", "TITLE"].includes(el.tagName)) continue;
    seen.add(el);
    if (!shown(el) || disabled(el) || el.closest("svg title, .tl-tooltip[hidden], textarea")) continue;
    el.scrollIntoView({ block: "center", inline: "center" });
    const range = document.createRange();
    range.selectNodeContents(node);
    const box = [...range.getClientRects()].find((r) => r.width >= 1 && r.height >= 1);
    if (!box) continue;
    const x = box.left + box.width / 2;
    const y = box.top + box.height / 2;
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
    const cs = getComputedStyle(el);
    const fg = rgba(el instanceof SVGElement ? cs.fill : cs.color);
    fg[3] *= (el instanceof SVGElement ? Number(cs.fillOpacity) : 1) * opacityOf(el);
    // An HTML element's own background is under its text; an SVG text's fill is the text.
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    for (const bg of backgroundsAt(x, y, el instanceof SVGElement ? el : null)) {
      const got = ratio(over(fg, bg), bg);
      if (got >= need) continue;
      failures.push(`text ${name(el)} "${node.textContent.trim().slice(0, 40)}": ${hex(over(fg, bg))} on ${hex(bg)} is ${got.toFixed(2)}:1, needs ${need}:1`);
      break;
    }
  }

  // Every enabled control's boundary, where it draws one.
  const controls = root.querySelectorAll("button, select, input:not([type=hidden]), textarea, [role=button]:not(svg *), summary");
  for (const el of controls) {
    if (!shown(el) || disabled(el) || el.closest(".CodeMirror")) continue;
    el.scrollIntoView({ block: "center", inline: "center" });
    const box = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    // What is around it: what is drawn under its middle once it is left out.
    for (const surrounding of backgroundsAt(box.left + box.width / 2, box.top + box.height / 2, el)) {
      let own = rgba(el.type === "range" ? cs.accentColor : cs.backgroundColor);
      own[3] *= opacityOf(el);
      own = over(own, surrounding);
      const border = parseFloat(cs.borderTopWidth) >= 1 && cs.borderTopStyle !== "none" ? over(rgba(cs.borderTopColor), surrounding) : null;
      const fill = ratio(own, surrounding);
      const edge = border ? ratio(border, surrounding) : 1;
      const draws = fill >= 1.1 || (border && edge >= 1.1);
      if (draws && Math.max(fill, edge) < 3) {
        failures.push(`control ${name(el)}: boundary ${hex(border || own)} on ${hex(surrounding)} is ${Math.max(fill, edge).toFixed(2)}:1, needs 3:1`);
        break;
      }
    }
  }
  style.remove();
  document.documentElement.classList.remove("contrast-check");
  return failures;
})()
