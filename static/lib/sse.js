// Server-Sent Events read from a fetch response's body. EventSource cannot
// POST, so the pages read the stream of a live run (docs/live.md) here:
// each event's name and data, comments skipped, lines ending in \n, \r\n
// or \r, a line cut across chunks put back together (in pieces joined
// once: a final trace may be one line of megabytes).

/**
 * Read the event stream of body (a ReadableStream of bytes), calling
 * onEvent(name, data) for each event ("message" when it names none; data's
 * lines joined by "\n"). Resolves when the stream ends, rejects when reading
 * fails (the connection broke, or the request was aborted).
 */
export async function readEventStream(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const event = { name: "", data: [] };
  const lines = lineReader((line) => readLine(line, event, onEvent));
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      lines(decoder.decode());
      return;
    }
    lines(decoder.decode(value, { stream: true }));
  }
}

/** A function that takes the stream's text chunk by chunk and calls onLine with each whole line. */
function lineReader(onLine) {
  let pieces = []; // the line not yet ended
  let afterReturn = false; // the last chunk ended with \r: a \n first in the next one belongs to it
  return (text) => {
    let start = afterReturn && text.startsWith("\n") ? 1 : 0;
    afterReturn = false;
    let ret = -2; // where the next \r is (-1: none), looked up once, not once a line
    for (;;) {
      if (ret !== -1 && ret < start) ret = text.indexOf("\r", start);
      const newline = text.indexOf("\n", start);
      const end = ret === -1 ? newline : newline === -1 ? ret : Math.min(ret, newline);
      if (end === -1) break;
      pieces.push(text.slice(start, end));
      onLine(pieces.length === 1 ? pieces[0] : pieces.join(""));
      pieces = [];
      if (text[end] === "\r" && end === text.length - 1) afterReturn = true;
      start = end + (text[end] === "\r" && text[end + 1] === "\n" ? 2 : 1);
    }
    if (start < text.length) pieces.push(text.slice(start));
  };
}

/** One line of the stream: a field of the event being read, or the blank line that ends it. */
function readLine(line, event, onEvent) {
  if (line === "") {
    if (event.data.length) onEvent(event.name || "message", event.data.join("\n"));
    event.name = "";
    event.data = [];
    return;
  }
  if (line.startsWith(":")) return; // a comment: ": keep-alive"
  const colon = line.indexOf(":");
  const field = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? "" : line.slice(colon + 1);
  if (value.startsWith(" ")) value = value.slice(1);
  if (field === "event") event.name = value;
  else if (field === "data") event.data.push(value);
}
