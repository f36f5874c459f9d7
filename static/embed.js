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
(function () {
  "use strict";

  if (window.asyncioPlayground) return; // the script was added twice

  var HEIGHT_MESSAGE = "asyncio-playground:height";
  var MIN_HEIGHT = 120;
  var MAX_HEIGHT = 4000;

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
  var frames = [];

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
    if (isOn(pre, "data-autorun")) params.push("autorun=1");
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

  function embed(pre) {
    if (pre.hasAttribute("data-asyncio-playground-embedded")) return;
    pre.setAttribute("data-asyncio-playground-embedded", "");
    var frame = document.createElement("iframe");
    frame.src = embedUrl(pre);
    frame.title = "Runnable asyncio snippet (asyncio playground)";
    frame.className = "asyncio-playground-embed";
    frame.setAttribute("loading", "lazy");
    frame.style.display = "block";
    frame.style.width = "100%";
    frame.style.border = "0";
    var fixed = parseInt(pre.getAttribute("data-height") || "", 10);
    if (fixed > 0) {
      frame.style.height = Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, fixed)) + "px";
      frame.setAttribute("data-fixed-height", "");
    } else {
      // A first guess from the line count until the embed reports its height.
      var lines = pre.textContent.split("\n").length;
      frame.style.height = Math.min(900, 200 + 20 * lines) + "px";
    }
    frames.push(frame);
    pre.hidden = true;
    pre.parentNode.insertBefore(frame, pre.nextSibling);
  }

  function scan(scope) {
    var blocks = (scope || document).querySelectorAll("pre[data-asyncio-playground]");
    Array.prototype.forEach.call(blocks, embed);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.type !== HEIGHT_MESSAGE) return;
    var height = Number(data.height);
    if (!isFinite(height)) return;
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow !== event.source) continue;
      if (!frame.hasAttribute("data-fixed-height")) {
        frame.style.height = Math.round(Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, height))) + "px";
      }
      return;
    }
  });

  window.asyncioPlayground = { scan: scan };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(); });
  } else {
    scan();
  }
})();
