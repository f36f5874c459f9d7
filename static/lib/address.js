// The page's address: the code, clock, Python and URL list a link carries in
// its fragment (#code=...&clock=...&python=..., #urls=...), and the query's
// options.

/** The fragment of a link to this code: #code=...&clock=...(&python=..., when one is given) */
export function codeFragment(code, clock, python = null) {
  // encodeURIComponent keeps spaces as %20 (URLSearchParams would write "+").
  const fragment = `#code=${encodeURIComponent(code)}&clock=${encodeURIComponent(clock)}`;
  return python ? `${fragment}&python=${encodeURIComponent(python)}` : fragment;
}

const fragmentParams = () => new URLSearchParams(location.hash.replace(/^#/, ""));

/** The code of a #code=... fragment: {code, clock, python, run}, or null. */
export function readCodeFragment() {
  const params = fragmentParams();
  if (!params.has("code")) return null;
  return { code: params.get("code") || "", clock: params.get("clock"), python: params.get("python"), run: params.get("run") === "1" };
}

/** The parameters of a #urls=... fragment (URL mode), or null. */
export function readUrlsFragment() {
  const params = fragmentParams();
  return params.has("urls") ? params : null;
}

/** Show this query and fragment in the address bar, without a new history entry. */
export function replaceAddress(search, hash) {
  const url = `${location.pathname}${search}${hash}`;
  // The entry keeps its state (the work it holds: features/keep.js).
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(history.state, "", url);
}

/** The query's then the fragment's parameters, the fragment's winning. */
export function addressOptions() {
  const options = new URLSearchParams(location.search);
  for (const [key, value] of fragmentParams()) options.set(key, value);
  return options;
}

/** Whether any of these options is given and not "0", "false", "no" or "off". */
export const optionIsOn = (options, ...names) =>
  names.some((name) => options.has(name) && !["0", "false", "no", "off"].includes(options.get(name).toLowerCase()));
