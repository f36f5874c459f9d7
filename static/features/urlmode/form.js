// URL mode's form: the URL list and its hint (how many, the limit), the
// strategy, N (the Semaphore's size, shown only when a Semaphore is in
// play) and "Compare with"; what a link or a saved snippet holds of it.

import { $ } from "../../lib/dom.js";
import { plural } from "../../lib/format.js";

export const STRATEGY_NAMES = {
  sequential: "sequential",
  gather: "gather",
  semaphore: "Semaphore",
  as_completed: "as_completed",
  taskgroup: "TaskGroup",
};

const splitUrls = (text) => text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);

/** The form of the page's URL mode; onChange(what) after an edit: "urls", "strategy" or "limit". */
export function urlForm({ onChange }) {
  const list = $('[data-testid="url-list"]');
  const hint = $('[data-testid="url-hint"]');
  const strategySelect = $('[data-testid="strategy"]');
  const compareSelect = $('[data-testid="compare-strategy"]');
  const limitInput = $('[data-testid="limit"]');
  const limitField = limitInput.closest(".field");
  const maxUrls = Number(list.dataset.maxUrls) || 20;
  const maxLimit = Number(limitInput.max) || 10;
  const hintText = hint.textContent;

  const form = {
    maxUrls,
    urls: () => splitUrls(list.value),

    /** N, within 1 and the server's most. */
    limit() {
      const n = Math.round(Number(limitInput.value));
      return Number.isFinite(n) ? Math.min(maxLimit, Math.max(1, n)) : 3;
    },

    strategy: () => (strategySelect.value in STRATEGY_NAMES ? strategySelect.value : "gather"),

    /** The strategy to compare with, or "". */
    compareWith: () => (compareSelect.value in STRATEGY_NAMES ? compareSelect.value : ""),

    /** How people read a strategy: "gather", "Semaphore(3)". */
    label: (name) => (name === "semaphore" ? `Semaphore(${form.limit()})` : STRATEGY_NAMES[name] || name),

    /** The fragment of a link to this list, these strategies and N. */
    fragment(items, first, second) {
      let hash = `#urls=${encodeURIComponent(items.join("\n"))}&strategy=${encodeURIComponent(first)}`;
      if (first === "semaphore" || second === "semaphore") hash += `&limit=${form.limit()}`;
      if (second) hash += `&compare=${encodeURIComponent(second)}`;
      return hash;
    },

    /** Fill the form from a fragment's parameters. */
    load(params) {
      if (params.has("urls")) list.value = params.get("urls") || "";
      const s = params.get("strategy");
      if (s && s in STRATEGY_NAMES) strategySelect.value = s;
      const c = params.get("compare");
      compareSelect.value = c && c in STRATEGY_NAMES ? c : "";
      const l = Number(params.get("limit"));
      if (Number.isInteger(l) && l >= 1) limitInput.value = String(Math.min(maxLimit, l));
      syncLimitField();
      updateHint();
    },

    /** What Share saves of URL mode. */
    snippet() {
      const body = { mode: "urls", urls: form.urls(), strategy: strategySelect.value };
      const limit = Math.round(Number(limitInput.value));
      if (Number.isInteger(limit) && limit >= 1) body.limit = Math.min(limit, Number(limitInput.max) || limit);
      return body;
    },
  };

  function updateHint() {
    const count = form.urls().length;
    hint.classList.toggle("is-over", count > maxUrls);
    if (count > maxUrls) hint.textContent = `${count} URLs: the limit is ${maxUrls} a run. Remove ${count - maxUrls}.`;
    else if (count) hint.textContent = `${plural(count, "URL")}. ${hintText}`;
    else hint.textContent = hintText;
  }

  function syncLimitField() {
    limitField.hidden = form.strategy() !== "semaphore" && compareSelect.value !== "semaphore";
  }

  list.addEventListener("input", () => {
    updateHint();
    onChange("urls");
  });
  strategySelect.addEventListener("change", () => {
    syncLimitField();
    onChange("strategy");
  });
  compareSelect.addEventListener("change", syncLimitField);
  limitInput.addEventListener("input", () => onChange("limit"));
  limitInput.addEventListener("change", () => {
    limitInput.value = String(form.limit());
    onChange("limit");
  });
  syncLimitField();
  updateHint();
  return form;
}
