// Calls to the playground's JSON API, for the main page and the embed page.

const str = (v) => (v === null || v === undefined ? "" : String(v));

/**
 * POST JSON to url. Resolves to {ok: true, body} or {ok: false, message,
 * code}: the server's own error message (with when to retry, for 429 and
 * 503), or what went wrong on the way.
 */
export async function postJSON(url, payload) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, message: "Could not reach the playground. Check your connection and try again." };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error && body.error.message ? str(body.error.message) : `The playground answered ${response.status} ${response.statusText}.`;
    const retry = response.headers.get("Retry-After");
    const hint = retry && (response.status === 429 || response.status === 503) ? ` Try again in ${retry} s.` : "";
    return { ok: false, message: message + hint, code: body && body.error && body.error.code };
  }
  return { ok: true, body };
}
