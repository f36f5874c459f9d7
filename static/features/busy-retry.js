// Trying again by itself when the playground says it is busy (503) or that
// a reader started many runs in a short time (429), after the Retry-After
// the server asked for: the status line counts down ("The playground is
// busy. Trying again in 4 s…") with a Cancel button. The one retry of the
// main page and the embed page (docs/live.md, "Clients that cope").

import { element } from "../lib/dom.js";

// Tries before the page gives up and asks the reader to come back later.
const MAX_TRIES = 6;
// Waits are counted in whole seconds, at least one and at most this many.
const MAX_WAIT_SECONDS = 60;

/** Whether an answer is a refusal to try again later: a 429 or 503 that says when. */
export function isRetryable(answer) {
  return !answer.ok && (answer.status === 429 || answer.status === 503) && typeof answer.retryAfter === "number";
}

/** Why the page waits, in a reader's words (never the operator's). */
function reason(answer) {
  if (answer.status === 429) return "You have started many runs in a short time.";
  if (answer.code === "busy") return "The playground is busy.";
  return "The playground cannot run code just now.";
}

/**
 * Call attempt() (a request, resolving to an API answer) until it is not
 * refused for being busy, and resolve to its answer. Between tries the
 * status line counts down; Cancel, or signal aborting, ends the wait with
 * {ok: false, cancelled: true}. resume() is called before each new try (the
 * page says it runs again). After MAX_TRIES the last refusal is the answer,
 * said in the page's words.
 */
export async function withBusyRetries(attempt, { statusLine, signal = null, resume = () => {} }) {
  for (let tries = 1; ; tries++) {
    const answer = await attempt();
    if (!isRetryable(answer) || (signal && signal.aborted)) return answer;
    if (tries >= MAX_TRIES) {
      return { ...answer, message: `${reason(answer)} It still was after ${tries} tries: wait a minute, then press Run again.` };
    }
    if (!(await countdown(statusLine, answer, signal))) return { ok: false, cancelled: true };
    resume();
  }
}

/** Count down the wait the answer asks for on the status line; resolves true to try again, false if cancelled. */
function countdown(statusLine, answer, signal) {
  return new Promise((resolve) => {
    let left = Math.ceil(Math.min(Math.max(answer.retryAfter, 1), MAX_WAIT_SECONDS));
    statusLine.set("waiting", `${reason(answer)} Trying again in `);
    // The seconds change each second: a screen reader hears the sentence once.
    const seconds = element("span", { class: "retry-seconds", "data-testid": "retry-countdown", "aria-live": "off" });
    const cancel = element("button", { type: "button", class: "btn-small retry-cancel", "data-testid": "retry-cancel", text: "Cancel" });
    statusLine.text.append(seconds, "\u2026 ", cancel);
    const show = () => (seconds.textContent = `${left} s`);
    const finish = (again) => {
      clearInterval(timer);
      if (signal) signal.removeEventListener("abort", cancelled);
      cancel.remove();
      resolve(again);
    };
    const cancelled = () => finish(false);
    const timer = setInterval(() => {
      left -= 1;
      if (left <= 0) finish(true);
      else show();
    }, 1000);
    show();
    cancel.addEventListener("click", cancelled);
    if (signal) signal.addEventListener("abort", cancelled);
  });
}
