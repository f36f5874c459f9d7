// Building page elements. Text goes in as text (textContent), never as
// markup, so anything from a run or a user is safe to pass.

import { isMissing } from "./values.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** The page's first element that matches a CSS selector. */
export const $ = (selector) => document.querySelector(selector);

/**
 * A new HTML element. attrs are attributes, except `text`, which becomes its
 * textContent; children are nodes or strings, appended in order.
 */
export function element(name, attrs = {}, children = []) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

/** A new SVG element with these attributes (null ones left out), added to parent if given. */
export function svgElement(name, attrs, parent) {
  const node = document.createElementNS(SVG_NS, name);
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      const value = attrs[key];
      if (!isMissing(value)) node.setAttribute(key, String(value));
    }
  }
  if (parent) parent.appendChild(node);
  return node;
}

// The nodes keyedChildren put in each box, by key.
const keyedIn = new WeakMap();

/**
 * Make box's children the nodes of entries ([key, make] pairs, keys unique),
 * in order. A node shown under the same key the last time stays where it is,
 * neither rebuilt nor moved, so the browser styles and lays out only what
 * changed; make() builds the others. Whatever else box held is removed.
 */
export function keyedChildren(box, entries) {
  const before = keyedIn.get(box) || new Map();
  const after = new Map();
  for (const [key, make] of entries) after.set(key, before.get(key) || make());
  for (const [key, node] of before) if (!after.has(key)) node.remove();
  let at = box.firstChild;
  for (const node of after.values()) {
    if (node === at) at = at.nextSibling;
    else box.insertBefore(node, at);
  }
  while (at) {
    const next = at.nextSibling;
    at.remove();
    at = next;
  }
  keyedIn.set(box, after);
}

/** The grey italic line a box shows when it has nothing to show. */
export const emptyNote = (text) => element("p", { class: "empty", text });

/** A link-styled button that shows a snippet line in the editor. */
export function lineLink(line, text, onSelectLine) {
  const button = element("button", { type: "button", class: "line-link", "data-line": String(line), text });
  button.addEventListener("click", () => onSelectLine(line));
  return button;
}

/**
 * The JSON data the server put in the page (<script type="application/json"
 * id="...">): the parsed value, or undefined when it is missing or unreadable.
 */
export function readPageData(id) {
  const node = document.getElementById(id);
  if (!node) return undefined;
  try {
    return JSON.parse(node.textContent || "null");
  } catch {
    return undefined;
  }
}
