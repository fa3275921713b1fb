"""The settings table is the one place for defaults, and every one is documented."""

from pathlib import Path

from twin.settings import SETTINGS, render_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_settings_page_matches_the_table() -> None:
    assert (DOCS / "settings.md").read_text() == render_markdown(), "run `make docs` to regenerate docs/settings.md"


def test_every_setting_has_a_unit_help_and_source() -> None:
    for s in SETTINGS.values():
        assert s.unit and s.help and s.source, s.name
        assert s.default > 0, s.name
