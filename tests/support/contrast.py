"""Colour contrast in a real browser: ``contrast_failures(page)`` runs axe-core's
color-contrast rule (vendored in static/vendor/axe/, added to the page only
here) and the project's own check (tests/support/contrast.js: every text,
SVG included, and every control's boundary), and returns what fails both
ways, as lines to read. Nothing is excepted."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.support import ROOT

# Served by the playground itself, so the pages' script-src 'self' lets it in.
AXE_PATH = "/static/vendor/axe/axe.min.js"
OWN_CHECK = (ROOT / "tests" / "support" / "contrast.js").read_text()
AXE_RUN = "axe.run(document, {runOnly: ['color-contrast'], resultTypes: ['violations']}).then((r) => r.violations)"


def contrast_failures(page: Page) -> list[str]:
    """Texts and controls under WCAG AA's contrast (4.5:1 text, 3:1 large text and boundaries)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        origin = page.evaluate("location.origin")
        page.add_script_tag(url=f"{origin}{AXE_PATH}")
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    failures = [f"axe: {node['target']}: {node['failureSummary']}" for rule in violations for node in rule["nodes"]]
    failures += page.evaluate(OWN_CHECK)
    return failures
