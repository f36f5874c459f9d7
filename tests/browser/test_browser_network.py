"""Code mode's network connections on the page: a row under the task that
opened each, its phases in URL mode's colours, its host, phases and bytes
on hover, a failed one marked with its error, the connections of no task on
a "network" row; the summary, the task table, the legend and the exports
that tell of them; and everything from the trace kept as text. Made-up
traces are handed to the page as a run's answer arrives (the columnar form,
expanded by the page); one real run connects to a private address, which the
server's guard refuses."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from tests.support.browsing import screenshot, wait_for_status
from tests.support.traces import columnar, hand_to_page

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"
REFUSED = ("Connect call failed ('10.0.0.1', 80): 10.0.0.1 is a private address: "
           "the playground does not connect to it")


def task(id_: int, name: str, coro: str, parent: int | None, ended: float | None,
         state: str = "done") -> dict[str, Any]:
    error = {"type": "ConnectionRefusedError", "message": REFUSED, "line": 9} if state == "error" else None
    return {"id": id_, "name": name, "coro": coro, "parent": parent, "line": 14 if parent else None,
            "created": 0.0 if parent is None else 0.001, "ended": ended, "state": state, "error": error,
            "busy": 0.002, "waiting": 0.8, "scheduled": 0.0, "steps": 3}


def network_trace() -> dict[str, Any]:
    """main gathers two fetches: Task-2 asks example.com twice on one kept-alive
    TLS connection (line 6); Task-3's connection to 10.0.0.1 is refused
    (line 9); a connection of no task to a host named like markup is still
    open when the run is stopped."""
    phases = [("dns", 0.01, 0.03), ("connect", 0.03, 0.11), ("tls", 0.11, 0.21), ("first_byte", 0.21, 0.41),
              ("body", 0.41, 0.51), ("first_byte", 0.55, 0.65), ("body", 0.65, 0.7)]
    return {
        "version": 1, "status": "timeout", "clock": "real", "duration": 1.0, "wall": 1.1, "error": None,
        "truncated": False, "cut": None, "events": [], "output": [],
        "tasks": [task(1, "Task-1", "main", None, None, "pending"), task(2, "Task-2", "fetch", 1, 0.72),
                  task(3, "Task-3", "fetch", 1, 0.06, "error")],
        "slices": [{"task": i, "start": 0.001 * i, "end": 0.001 * i + 0.0005, "blocking": False, "reason": None}
                   for i in (1, 2, 3)],
        "waits": [{"task": 2, "start": 0.01, "end": 0.71, "on": "socket read: StreamReader.read()", "line": 7,
                   "chain": ["fetch", "StreamReader.read"]}],
        "jobs": [],
        "connections": [
            {"id": 1, "task": 2, "host": "example.com", "port": 443, "start": 0.01, "end": 0.71, "line": 6,
             "phases": [{"name": n, "start": a, "end": b} for n, a, b in phases], "error": None,
             "sent": 1100, "received": 12_400},
            {"id": 2, "task": 3, "host": "10.0.0.1", "port": 80, "start": 0.02, "end": 0.05, "line": 9,
             "phases": [{"name": "connect", "start": 0.02, "end": 0.05}], "error": REFUSED, "sent": 0, "received": 0},
            {"id": 3, "task": None, "host": HOSTILE, "port": 80, "start": 0.3, "end": 1.0, "line": None,
             "phases": [{"name": "connect", "start": 0.3, "end": 0.32}, {"name": "first_byte", "start": 0.32,
                                                                        "end": 1.0}],
             "error": None, "sent": 90, "received": 0, "cut_off": True},
        ],
    }


def show(page: Page, live_server: str, trace: dict[str, Any]) -> list[str]:
    """trace on the main page as a run's answer arrives (columnar, expanded by
    the page); returns the dialogs the page opened (markup run as code would)."""
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", opened)
    page.goto(f"{live_server}/?example=gather")
    reader = hand_to_page(page, "madeUpTrace", columnar(trace))
    page.evaluate(f"""async () => {{
        const {{ expandTrace }} = await import("/static/lib/api.js");
        window.playground.renderTrace(expandTrace({reader}), 0.5);
    }}""")
    return dialogs


def hover(page: Page, locator: Locator) -> None:
    box = locator.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def timeline(page: Page) -> Locator:
    return page.locator('[data-testid="timeline"]')


def test_each_connection_is_a_row_under_the_task_that_opened_it(page: Page, live_server: str) -> None:
    show(page, live_server, network_trace())
    rows = timeline(page).locator("g.tl-lane").evaluate_all("""(gs) => gs.map((g) =>
        g.dataset.taskId ? `task ${g.dataset.taskId}` : g.dataset.networkOf ? `network of ${g.dataset.networkOf}`
        : `lane ${g.dataset.lane}`)""")
    assert rows == ["task 1", "task 2", "network of 2", "task 3", "network of 3", "lane network"]
    mine = timeline(page).locator('g[data-network-of="2"]')
    expect(mine.locator(".tl-name")).to_have_text("\u21b3 example.com:443")
    expect(mine.locator(".tl-coro")).to_have_text("1 connection of Task-2")
    phases = mine.locator(".tl-conn rect[data-phase]").evaluate_all("(rs) => rs.map((r) => r.dataset.phase)")
    assert phases == ["dns", "connect", "tls", "first_byte", "body", "first_byte", "body"]
    # URL mode's colours: a phase of a connection is filled as the same phase of a request.
    fill = mine.locator('rect[data-phase="tls"]').evaluate("(r) => getComputedStyle(r).fill")
    colour = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--c-tls').trim()")
    assert fill == page.evaluate("""(c) => { const s = document.createElement('span'); s.style.color = c;
        document.body.append(s); const rgb = getComputedStyle(s).color; s.remove(); return rgb; }""", colour)
    expect(mine.locator(".tl-conn-label")).to_have_text("example.com:443")
    # The phases sit within the connection's stretch of the task's life, at their times.
    span = mine.locator(".tl-conn-span").bounding_box()
    dns = mine.locator('rect[data-phase="dns"]').bounding_box()
    assert span is not None and dns is not None
    assert abs(dns["x"] - span["x"]) < 1.5

    tooltip = timeline(page).locator(".tl-tooltip")
    hover(page, mine.locator('rect[data-phase="first_byte"]').first)
    expect(tooltip).to_contain_text("example.com:443 \u00b7 opened by Task-2 at line 6")
    expect(tooltip).to_contain_text("open 0.0100\u20130.7100 s (700 ms)")
    expect(tooltip).to_contain_text("DNS 20 ms \u00b7 connect 80 ms \u00b7 TLS 100 ms")
    expect(tooltip).to_contain_text("request 1: waiting for first byte 200 ms \u00b7 body 100 ms")
    expect(tooltip).to_contain_text("request 2: waiting for first byte 100 ms \u00b7 body 50 ms")
    expect(tooltip).to_contain_text("sent 1.1 KiB \u00b7 received 12.1 KiB")
    expect(tooltip).to_contain_text("click to show line 6 in the editor")
    expect(tooltip).not_to_contain_text("failed")
    box = mine.locator(".tl-conn-span").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.evaluate("window.playground.editor.getCursor().line") == 5

    # The task's label points at its row; the row's label tells its connections.
    page.locator('[data-testid="timeline"] g[data-task-id="2"] .tl-label').focus()
    expect(tooltip).to_contain_text("opened 1 network connection: see the rows under it")
    label = mine.locator(".tl-label")
    label.focus()
    expect(tooltip).to_contain_text("connections Task-2 opened (its lane is above)")
    expect(label).to_have_attribute(
        "aria-label", re.compile(r"example\.com:443: open 700 ms, 1\.1 KiB sent, 12\.1 KiB received"))
    screenshot(page, "network-connections")


def test_a_failed_connection_is_marked_and_tells_its_error(page: Page, live_server: str) -> None:
    show(page, live_server, network_trace())
    failed = timeline(page).locator('g[data-network-of="3"] .tl-conn')
    expect(failed).to_have_class(re.compile(r"\btl-conn-error\b"))
    expect(failed.locator(".tl-conn-failed")).to_have_count(1)
    expect(timeline(page).locator('g[data-network-of="2"] .tl-conn-error')).to_have_count(0)
    hover(page, failed.locator(".tl-conn-failed"))
    tooltip = timeline(page).locator(".tl-tooltip")
    expect(tooltip).to_contain_text("10.0.0.1:80 \u00b7 opened by Task-3 at line 9")
    expect(tooltip).to_contain_text(f"failed: {REFUSED}")
    expect(tooltip).to_contain_text("sent 0 B \u00b7 received 0 B")


def test_text_from_the_trace_stays_text_and_a_connection_of_no_task_has_its_own_row(page: Page,
                                                                                    live_server: str) -> None:
    dialogs = show(page, live_server, network_trace())
    row = timeline(page).locator('g[data-lane="network"]')
    expect(row.locator(".tl-name")).to_have_text("network")
    expect(row.locator(".tl-conn-label")).to_have_text(f"{HOSTILE}:80")
    expect(row.locator(".tl-conn")).to_have_attribute("data-host", HOSTILE)
    expect(row.locator(".tl-conn .tl-cut-off-end")).to_have_count(1)
    hover(page, row.locator('rect[data-phase="first_byte"]'))
    tooltip = timeline(page).locator(".tl-tooltip")
    expect(tooltip).to_contain_text(f"{HOSTILE}:80 \u00b7 opened outside any task")
    expect(tooltip).to_contain_text("still open when the run was stopped")
    assert tooltip.locator("img").count() == 0
    row.locator(".tl-label").focus()
    expect(tooltip).to_contain_text(f"{HOSTILE}:80: open 700 ms")
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_the_summary_table_legend_and_exports_tell_of_the_connections(page: Page, live_server: str) -> None:
    show(page, live_server, network_trace())
    expect(page.get_by_test_id("summary-network")).to_have_text(
        "3 connections (12.1 KiB received, 1.2 KiB sent; 1 failed; 1 still open when the run was stopped)")
    table = page.get_by_test_id("task-table")
    expect(table.locator("thead th").last).to_have_text("Connections")
    counts = {row.get_attribute("data-task-id"): row.locator("td").last.text_content()
              for row in table.locator("tbody tr").all()}
    assert counts == {"1": "0", "2": "1", "3": "1"}
    legend = page.get_by_test_id("phase-legend")
    expect(legend).to_be_visible()
    expect(legend.get_by_text("TLS")).to_be_visible()
    expect(legend.get_by_text("queued")).to_be_hidden()

    with page.expect_download() as download:
        page.get_by_test_id("export-perfetto").click()
    events = json.loads(Path(download.value.path()).read_text())["traceEvents"]
    tracks = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"
              and e["pid"] == 3}
    assert tracks == {1: "example.com:443 \u00b7 Task-2", 2: "10.0.0.1:80 \u00b7 Task-3",
                      3: f"{HOSTILE}:80 \u00b7 no task"}
    slices = [e for e in events if e["ph"] == "X" and e["pid"] == 3]
    whole = [e for e in slices if e["cat"] == "connection"]
    assert [e["args"]["received"] for e in whole] == [12_400, 0, 0]
    assert whole[1]["args"]["error"] == REFUSED
    assert [e["name"] for e in slices if e["cat"] == "phase" and e["tid"] == 1][:3] == ["DNS", "connect", "TLS"]
    assert all(e["ts"] >= whole[0]["ts"] and e["ts"] + e["dur"] <= whole[0]["ts"] + whole[0]["dur"] + 1e-3
               for e in slices if e["tid"] == 1)

    with page.expect_download() as download:
        page.get_by_test_id("export-svg").click()
    picture = Path(download.value.path()).read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;:80" in picture
    assert "<img" not in picture
    assert "example.com:443" in picture


def test_connections_a_run_sends_wrong_do_not_break_the_page(page: Page, live_server: str) -> None:
    trace = network_trace()
    trace["connections"] += [
        {"id": "x", "task": "nobody", "host": None, "port": None, "start": "soon", "end": None, "line": "six",
         "phases": "dns", "error": 42, "sent": -5, "received": "lots"},
        {"id": 9, "task": 2, "host": 7, "port": [443], "start": 0.8, "end": 0.2, "line": -1,
         "phases": [None, 3, {"name": "<b>x</b>", "start": 0.8, "end": 0.9}, {"name": "dns", "start": "a"}],
         "error": False, "sent": 10, "received": 20},
        {"id": 10, "task": 42, "host": "lost.example", "port": 80, "start": 0.4, "end": 0.5, "line": 3,
         "phases": [], "error": None, "sent": 0, "received": 0},
    ]
    show(page, live_server, trace)
    expect(timeline(page).locator('g[data-network-of="2"]')).to_have_count(1)
    # Task 42 is not in the trace: its connection goes with those of no task.
    expect(timeline(page).locator('g[data-lane="network"] .tl-conn')).to_have_count(2)
    expect(page.get_by_test_id("summary-network")).to_contain_text("5 connections")
    # An older trace (no connections at all) draws no network rows, and hides the legend again.
    older = network_trace()
    del older["connections"]
    show(page, live_server, older)
    expect(timeline(page).locator("g[data-network-of], g[data-lane='network']")).to_have_count(0)
    expect(page.get_by_test_id("summary-network")).to_have_count(0)
    expect(page.get_by_test_id("phase-legend")).to_be_hidden()
    expect(page.get_by_test_id("task-table").locator("thead th").last).to_have_text("Steps")


# The server's guard refuses private addresses (no URL_ALLOW on the live
# server): the connection is in the trace, failed, with the line that made it.
# (The server now records such a refused connection with no task: it is drawn
# on the "network" row, or under its task once the server tells it.)
REFUSED_RUN = """import asyncio

async def fetch():
    reader, writer = await asyncio.open_connection("10.0.0.1", 80)

async def main():
    try:
        await asyncio.create_task(fetch())
    except OSError as exc:
        print("refused")

asyncio.run(main())
"""


def test_a_real_run_refused_a_connection_shows_it_failed(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/#code={urllib.parse.quote(REFUSED_RUN)}&run=1")
    wait_for_status(page, "ok")
    expect(page.get_by_test_id("output")).to_contain_text("refused")
    failed = timeline(page).locator("g[data-network-of] .tl-conn, g[data-lane='network'] .tl-conn")
    expect(failed).to_have_count(1)
    expect(failed).to_have_class(re.compile(r"\btl-conn-error\b"))
    hover(page, failed.locator(".tl-conn-failed"))
    tooltip = timeline(page).locator(".tl-tooltip")
    expect(tooltip).to_contain_text("10.0.0.1:80 \u00b7 opened")
    expect(tooltip).to_contain_text("at line 4")
    expect(tooltip).to_contain_text("failed: Connect call failed ('10.0.0.1', 80): 10.0.0.1 is a private address")
    expect(page.get_by_test_id("summary-network")).to_have_text("1 connection (0 B received, 0 B sent; 1 failed)")
    screenshot(page, "network-refused")
