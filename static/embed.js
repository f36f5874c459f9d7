// asyncio playground embeds for anyone's page. Add
//
//   <script src="https://PLAYGROUND/static/embed.js" async></script>
//
// and every <pre data-asyncio-playground> block becomes a runnable snippet
// with its timeline, in an iframe of the playground. Options, as data
// attributes on the <pre>:
//
//   data-clock="virtual" | "real"   the run's clock (virtual by default)
//   data-python="3.14"              the Python it runs on (the playground's
//                                   default, or the shared snippet's, if not)
//   data-autorun                    run once the embed loads
//   data-read-only                  the reader can run but not edit the code
//   data-height="420"               a fixed height in pixels (otherwise the
//                                   frame grows and shrinks with its content)
//   data-snippet="<id>"             embed a snippet shared on the playground
//                                   instead of the <pre>'s own text
//
// The code travels in the iframe's URL fragment (#code=...), which is never
// sent to any server but the page itself. The snippet's text is only ever
// read as text (textContent) and never inserted into this page as markup.
// window.asyncioPlayground.scan() embeds blocks added to the page later.
//
// Each iframe is made when its block comes near the view (an
// IntersectionObserver; all at once without one), and at most two embeds
// autorun at once, in page order, near the view: an embed made here asks
// for its turn (static/features/embed-turns.js speaks the other side) and
// says when its run is over. A run the reader starts is never held back.
(function () {
  "use strict";

  if (window.asyncioPlayground) return; // the script was added twice

  var HEIGHT_MESSAGE = "asyncio-playground:height";
  var TURN_ASK = "asyncio-playground:may-autorun";
  var TURN_GIVEN = "asyncio-playground:autorun";
  var TURN_OVER = "asyncio-playground:autorun-done";
  var MIN_HEIGHT = 120;
  var MAX_HEIGHT = 4000;
  // Embeds that autorun at once; how far from the view a block counts as
  // near (its frame is made, it may autorun); and how long a turn lasts at
  // the most, should an embed never say its run is over.
  var AUTORUNS_AT_ONCE = 2;
  var NEAR_VIEW = "600px 0px";
  var LONGEST_TURN_MS = 60000;

  function scriptUrl() {
    var script = document.currentScript;
    if (script && script.src) return script.src;
    var scripts = document.querySelectorAll("script[src]");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/static\/embed\.js(?:[?#].*)?$/.test(scripts[i].src)) return scripts[i].src;
    }
    return null;
  }

  var src = scriptUrl();
  if (!src) return;
  // ".../static/embed.js" -> the playground's root, wherever it is mounted.
  var root = new URL("../", src);
  var origin = root.origin;
  // One record per block: {pre, place (the placeholder, then the frame),
  // frame, near, asking, turnTimer}, in the order the blocks were found.
  var embeds = [];
  var running = 0;
  var observer = typeof IntersectionObserver === "function"
    ? new IntersectionObserver(sawPlaces, { rootMargin: NEAR_VIEW }) : null;

  function isOn(pre, name) {
    if (!pre.hasAttribute(name)) return false;
    var value = pre.getAttribute(name).trim().toLowerCase();
    return ["0", "false", "no", "off"].indexOf(value) === -1;
  }

  /** The block's text without the indentation common to its lines. */
  function codeOf(pre) {
    var lines = pre.textContent.replace(/\r\n?/g, "\n").split("\n");
    while (lines.length && !lines[0].trim()) lines.shift();
    while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
    var indent = null;
    lines.forEach(function (line) {
      if (!line.trim()) return;
      var lead = line.match(/^[ \t]*/)[0].length;
      indent = indent === null ? lead : Math.min(indent, lead);
    });
    return lines.map(function (line) { return line.slice(indent || 0); }).join("\n") + "\n";
  }

  function embedUrl(pre) {
    var params = [];
    var clock = (pre.getAttribute("data-clock") || "").trim();
    if (clock === "real" || clock === "virtual") params.push("clock=" + clock);
    var python = (pre.getAttribute("data-python") || "").trim();
    if (/^\d+\.\d+$/.test(python)) params.push("python=" + python);
    if (isOn(pre, "data-autorun")) params.push("autorun=ask");
    if (isOn(pre, "data-read-only") || isOn(pre, "data-readonly")) params.push("readonly=1");
    var id = (pre.getAttribute("data-snippet") || "").trim();
    if (/^[0-9A-Za-z]{10,43}$/.test(id)) {
      var shared = new URL("embed/" + id, root);
      shared.hash = params.join("&");
      return shared.href;
    }
    var url = new URL("embed", root);
    url.hash = ["code=" + encodeURIComponent(codeOf(pre))].concat(params).join("&");
    return url.href;
  }

  /** The frame's height: the author's, or a first guess from the line count until the embed reports its own. */
  function sizeOf(pre) {
    var fixed = parseInt(pre.getAttribute("data-height") || "", 10);
    if (fixed > 0) return { height: Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, fixed)), fixed: true };
    return { height: Math.min(900, 200 + 20 * pre.textContent.split("\n").length), fixed: false };
  }

  /** Hide the block and keep its place (at the frame's first height) until the frame is made. */
  function embed(pre) {
    if (pre.hasAttribute("data-asyncio-playground-embedded")) return;
    pre.setAttribute("data-asyncio-playground-embedded", "");
    var place = document.createElement("div");
    place.className = "asyncio-playground-placeholder";
    place.style.height = sizeOf(pre).height + "px";
    var record = { pre: pre, place: place, frame: null, near: !observer, asking: false, turnTimer: 0 };
    embeds.push(record);
    pre.hidden = true;
    pre.parentNode.insertBefore(place, pre.nextSibling);
    if (observer) observer.observe(place);
    else makeFrame(record);
  }

  function makeFrame(record) {
    var pre = record.pre;
    var frame = document.createElement("iframe");
    frame.src = embedUrl(pre);
    frame.title = "Runnable asyncio snippet (asyncio playground)";
    frame.className = "asyncio-playground-embed";
    frame.style.display = "block";
    frame.style.width = "100%";
    frame.style.border = "0";
    var size = sizeOf(pre);
    frame.style.height = size.height + "px";
    if (size.fixed) frame.setAttribute("data-fixed-height", "");
    record.frame = frame;
    record.place.parentNode.replaceChild(frame, record.place);
    if (observer) {
      observer.unobserve(record.place);
      observer.observe(frame);
    }
    record.place = frame;
  }

  /** Blocks and frames that came near the view, or left it. */
  function sawPlaces(entries) {
    entries.forEach(function (entry) {
      var record = recordOf(function (r) { return r.place === entry.target; });
      if (!record) return;
      record.near = entry.isIntersecting;
      if (record.near && !record.frame) makeFrame(record);
    });
    giveTurns();
  }

  function recordOf(test) {
    for (var i = 0; i < embeds.length; i++) if (test(embeds[i])) return embeds[i];
    return null;
  }

  /** Give the autorun's turn to the first embeds (in page order) that ask, near the view, while fewer than two run. */
  function giveTurns() {
    for (var i = 0; i < embeds.length && running < AUTORUNS_AT_ONCE; i++) {
      var record = embeds[i];
      if (!record.asking || !record.near || !record.frame.contentWindow) continue;
      record.asking = false;
      running++;
      record.turnTimer = setTimeout(turnOver.bind(null, record), LONGEST_TURN_MS);
      record.frame.contentWindow.postMessage({ type: TURN_GIVEN }, origin);
    }
  }

  /** The embed's turn is over (or it no longer asks for one). */
  function turnOver(record) {
    record.asking = false;
    if (record.turnTimer) {
      clearTimeout(record.turnTimer);
      record.turnTimer = 0;
      running--;
    }
    giveTurns();
  }

  /** The embed's frame says how tall its content is. */
  function fitHeight(record, height) {
    if (!isFinite(height) || record.frame.hasAttribute("data-fixed-height")) return;
    record.frame.style.height = Math.round(Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, height))) + "px";
  }

  function scan(scope) {
    var blocks = (scope || document).querySelectorAll("pre[data-asyncio-playground]");
    Array.prototype.forEach.call(blocks, embed);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin) return;
    var data = event.data;
    if (!data || typeof data !== "object") return;
    var record = recordOf(function (r) { return r.frame !== null && r.frame.contentWindow === event.source; });
    if (!record) return;
    if (data.type === HEIGHT_MESSAGE) {
      fitHeight(record, Number(data.height));
    } else if (data.type === TURN_ASK) {
      record.asking = true;
      giveTurns();
    } else if (data.type === TURN_OVER) {
      turnOver(record);
    }
  });

  window.asyncioPlayground = { scan: scan };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(); });
  } else {
    scan();
  }
})();
