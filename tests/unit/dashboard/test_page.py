"""A basic accessibility check of the page as shipped: every control has a label, every chart
is an image with a name, every table has header cells, and every text colour of the palette
meets WCAG AA contrast (4.5:1) on the background it is drawn on."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from atb.dashboard.app import STATIC

PAGE = (STATIC / "dashboard.html").read_text(encoding="utf-8")
CSS = (STATIC / "dashboard.css").read_text(encoding="utf-8")

# (text, background) pairs of CSS variables the page draws text with.
PAIRS = [
    ("fg", "bg"),
    ("fg", "panel"),
    ("muted", "bg"),
    ("muted", "panel"),
    ("accent", "bg"),
    ("gain", "bg"),
    ("loss", "bg"),
    ("running-fg", "running-bg"),
    ("stopped-fg", "stopped-bg"),
    ("crashed-fg", "crashed-bg"),
    ("identical-fg", "identical-bg"),
    ("diverged-fg", "diverged-bg"),
    ("pending-fg", "pending-bg"),
]


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <th>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def parsed() -> list[tuple[str, dict[str, str]]]:
    parser = Elements()
    parser.feed(PAGE)
    return parser.tags


def test_every_control_has_a_label() -> None:
    tags = parsed()
    labelled = {attrs["for"] for tag, attrs in tags if tag == "label" and "for" in attrs}
    controls = [attrs for tag, attrs in tags if tag in ("input", "select", "textarea")]
    assert controls, "the page has controls"
    for attrs in controls:
        assert attrs.get("id") in labelled or attrs.get("aria-label"), attrs


def test_every_chart_is_a_named_image_and_the_page_has_a_language() -> None:
    tags = parsed()
    ids = {attrs["id"] for _tag, attrs in tags if "id" in attrs}
    charts = [attrs for _tag, attrs in tags if "chart" in attrs.get("class", "").split()]
    assert len(charts) == 2
    for attrs in charts:
        assert attrs.get("role") == "img", attrs
        assert attrs.get("aria-label") or attrs.get("aria-labelledby") in ids, attrs
    assert ("html", {"lang": "en"}) in tags


def test_every_table_has_header_cells_and_a_name() -> None:
    tables = re.findall(r"<table\b(.*?)>(.*?)</table>", PAGE, flags=re.DOTALL)
    assert len(tables) == 7
    for attributes, body in tables:
        assert "<thead>" in body, attributes
        assert '<th scope="col">' in body, attributes
        assert "<caption>" in body or "aria-label" in attributes, attributes  # or -labelledby


def palette() -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})\s*;", CSS))


def luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(text: str, background: str) -> float:
    lighter, darker = sorted((luminance(text), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_formula_matches_wcag_reference_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_colours_meet_wcag_aa(text: str, background: str) -> None:
    colours = palette()
    ratio = contrast(colours[text], colours[background])
    assert ratio >= 4.5, f"--{text} on --{background}: {ratio:.2f}:1"
