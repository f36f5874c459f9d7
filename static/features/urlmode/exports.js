// The export buttons (SVG, PNG, Perfetto file) after a URL run. main.js
// wires them to the code run its result view shows, which URL mode never
// sets (so those handlers do nothing after a URL run) and disables them
// whenever the page shows no run; these save the URL run shown.

import { $ } from "../../lib/dom.js";
import { downloadChromeTrace } from "../perfetto.js";
import { downloadPng, downloadSvg } from "../picture.js";

/** The exports of URL mode: show(trace) enables them for the run shown, forget() ends that; onError(message). */
export function urlExports(onError) {
  let shown = null;
  const saves = [
    ["export-svg", (trace) => downloadSvg(trace, "url-waterfall.svg")],
    ["export-png", (trace) => downloadPng(trace, "url-waterfall.png").catch((error) => onError(String(error.message || error)))],
    ["export-perfetto", (trace) => downloadChromeTrace(trace, "url-trace.json")],
  ].map(([testid, save]) => [$(`[data-testid="${testid}"]`), save]);
  for (const [button, save] of saves) {
    button.addEventListener("click", () => {
      if (shown) save(shown);
    });
  }
  return {
    show(trace) {
      shown = trace;
      for (const [button] of saves) button.disabled = false;
    },
    forget() {
      shown = null;
    },
  };
}
