// An embed's turn to run by itself. static/embed.js, on the author's page,
// lets at most two of a page's embeds autorun at once, in page order, near
// the view: an embed it made (autorun=ask) asks the page for its turn and
// says when its run is over. An embed in a page without embed.js (a pasted
// iframe: autorun=1) runs at once. Messages are the page's and the embed's
// only: their names and nothing else (docs/live.md, "Clients that cope").

export const TURN_ASK = "asyncio-playground:may-autorun";
export const TURN_GIVEN = "asyncio-playground:autorun";
export const TURN_OVER = "asyncio-playground:autorun-done";

/**
 * This embed's turn to autorun: {given, over()}. given resolves when it may
 * run (at once unless ask and it is in a frame); over() tells the page the
 * turn is over (the run ended, or the reader ran it by hand first), once.
 */
export function autorunTurn(ask) {
  const parent = window.parent;
  if (!ask || parent === window) return { given: Promise.resolve(), over: () => {} };
  const given = new Promise((resolve) => {
    window.addEventListener("message", (event) => {
      // The author's page may be of any origin: only the frame's own parent is heard.
      if (event.source === parent && event.data && event.data.type === TURN_GIVEN) resolve();
    });
  });
  parent.postMessage({ type: TURN_ASK }, "*");
  let told = false;
  return {
    given,
    over: () => {
      if (told) return;
      told = true;
      parent.postMessage({ type: TURN_OVER }, "*");
    },
  };
}
