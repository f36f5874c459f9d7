"""Live runs (docs/live.md): ``POST /api/run`` with ``Accept:
text/event-stream`` answers Server-Sent Events as the run waits, starts
and goes on, then its whole answer; ``POST /api/runs/<id>/stop`` ends one.

The run goes on in a thread of its own while the request's thread writes
what it tells; when the client goes away, the write fails, the response is
closed and the run is stopped. A refusal decided at once (a full queue, a
Python the server lacks) is answered as a plain JSON error, as without the
stream.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, current_app, jsonify, request

from playground.model.answer import dumps
from playground.model.trace import Trace
from playground.sandbox.service import Cancelled, LiveRun
from playground.services import services
from playground.web.errors import MESSAGES, APIError

bp = Blueprint("live", __name__, url_prefix="/api")

EVENT_STREAM = "text/event-stream"
# A comment goes out when nothing else did for this long: proxies keep the
# connection, and a client that has gone is noticed at the next write.
KEEPALIVE_SECONDS = 1.0
# How long the request waits for the run's first word before it starts the
# stream anyway: a refusal decided at once still gets its plain 503.
FIRST_WORD_SECONDS = 0.5
STOPPED_WAITING_MESSAGE = "The run was stopped before it started: nothing ran."
STOP_UNKNOWN_MESSAGE = "No run of that id is going on: it has ended already, or the id is wrong."
# The events that end a stream.
LAST_EVENTS = ("done", "error")

# Makes the answer of a run, telling the run given as it goes: its JSON, and
# the trace when a run was made for it.
Produce = Callable[[LiveRun], tuple[bytes, "Trace | None"]]


def wants_event_stream() -> bool:
    """Whether the client asked for the event stream rather than JSON."""
    return request.accept_mimetypes.best_match(["application/json", EVENT_STREAM]) == EVENT_STREAM


def event_stream(produce: Produce, api_error: Callable[[Exception], Exception]) -> Response:
    """Start ``produce`` in a thread of its own, watched live, and answer
    the events it tells; ``api_error`` turns what it raised into the API's
    error."""
    live = services().sandbox.live_run()
    failure: list[Exception] = []
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def work() -> None:
        with app.app_context():
            try:
                body, _ = produce(live)
                live.events.put(("done", body))
            except Cancelled:  # stopped while it waited: its client has gone, or stopped it
                live.events.put(("error", dumps({"error": {"code": "stopped", "message": STOPPED_WAITING_MESSAGE}})))
            except Exception as exc:  # told to the client, whatever it was
                error = api_error(exc)
                if not isinstance(error, APIError):
                    app.logger.error("live run failed", exc_info=exc)
                    error = APIError(500, "internal_error", MESSAGES[500])
                failure.append(error)
                live.events.put(("error", dumps({"error": _error_json(error)})))
            finally:
                live.close()

    threading.Thread(target=work, name=f"live run {live.id[:8]}", daemon=True).start()
    try:
        first = live.events.get(timeout=FIRST_WORD_SECONDS)
    except queue.Empty:
        first = None
    if first is not None and first[0] == "error":
        raise failure[0]
    response = Response(_told(live, first), mimetype=EVENT_STREAM)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy passes each event on at once
    return response


def _told(live: LiveRun, first: tuple[str, bytes] | None) -> Iterator[bytes]:
    """The stream's bytes: each event as it comes, a comment when none did
    for a while; the run is stopped however the stream ends."""
    try:
        yield b": live run\n\n" if first is None else _event(*first)
        if first is not None and first[0] in LAST_EVENTS:
            return
        while True:
            try:
                name, data = live.events.get(timeout=KEEPALIVE_SECONDS)
            except queue.Empty:
                yield b": keep-alive\n\n"
                continue
            yield _event(name, data)
            if name in LAST_EVENTS:
                return
    finally:
        live.stop()


def _event(name: str, data: bytes) -> bytes:
    # JSON from dumps has no line breaks, so data is one line.
    return b"event: " + name.encode("ascii") + b"\ndata: " + data + b"\n\n"


def _error_json(error: APIError) -> dict[str, object]:
    told: dict[str, object] = {"code": error.error_code, "message": error.message}
    if error.retry_after is not None:
        told["retry_after"] = error.retry_after
    return told


@bp.post("/runs/<run_id>/stop")
def stop(run_id: str) -> Response:
    """End a live run now; only its client knows its id."""
    if not services().sandbox.stop(run_id):
        raise APIError(404, "unknown_run", STOP_UNKNOWN_MESSAGE)
    return jsonify(stopped=True)
