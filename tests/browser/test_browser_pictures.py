"""The pictures of a run (SVG and PNG, one drawing) in a real browser
against a live gunicorn with the real jail: what is on screen (the window
zoomed to), an axis of 1-2-5 ticks, and the legend drawn as swatches."""

from __future__ import annotations

import itertools
import math
import struct
from pathlib import Path
from xml.etree import ElementTree

import pytest
from playwright.sync_api import Page

from tests.support.browsing import duration_seconds, run_example

pytestmark = pytest.mark.browser

SVG = "{http://www.w3.org/2000/svg}"


def download(page: Page, testid: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_test_id(testid).click()
    return Path(info.value.path()).read_bytes()


def ticks(svg: ElementTree.Element) -> list[float]:
    """The times of the axis labels, in seconds."""
    said = (duration_seconds(node.text or "") for node in svg.iter(f"{SVG}text"))
    return [seconds for seconds in said if seconds is not None]


def evenly_one_two_five(times: list[float]) -> bool:
    """Whether the ticks are evenly spaced by 1, 2 or 5 times a power of ten."""
    steps = {round(b - a, 9) for a, b in itertools.pairwise(times)}
    if len(steps) != 1:
        return False
    step = steps.pop()
    exponent = math.floor(math.log10(step) + 1e-9)
    return round(step / 10 ** exponent, 6) in (1.0, 2.0, 5.0)


def test_the_picture_is_the_window_on_screen_with_nice_ticks_and_a_drawn_legend(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")

    whole = ElementTree.fromstring(download(page, "export-svg"))
    times = ticks(whole)
    assert evenly_one_two_five(times), times
    assert "showing" not in "".join(whole.itertext())

    legend = whole.find(f".//{SVG}g[@class='legend']")
    assert legend is not None
    words = [node.text for node in legend.iter(f"{SVG}text")]
    assert words == ["running", "waiting", "ready, not yet running", "blocking the loop", "ran in a thread", "printed",
                     "error", "cancelled"]
    swatches = [node for node in legend if node.tag != f"{SVG}text"]
    assert len(swatches) == len(words)

    # Zoomed to 0.25 s - 0.75 s, the picture shows that window only.
    page.evaluate("window.playground.timeline().setView({t0: 0.25, t1: 0.75})")
    zoomed = ElementTree.fromstring(download(page, "export-svg"))
    assert "showing 250 ms \u2013 750 ms" in "".join(zoomed.itertext())
    times = ticks(zoomed)
    assert times and all(0.25 - 1e-9 <= t <= 0.75 + 1e-9 for t in times), times
    assert evenly_one_two_five(times), times
    assert zoomed.find(f".//{SVG}clipPath") is not None

    # The PNG is the same drawing, at twice its size.
    png = download(page, "export-png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (2 * int(zoomed.get("width", "0")), 2 * int(zoomed.get("height", "0")))
