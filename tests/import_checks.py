"""What the import tests check on every format: a drill on the imported campus, its report drawn in a real browser."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.helpers import open_offline
from twin.cli import app


def run_drill(campus: Path, tmp_path: Path, name: str) -> tuple[Path, dict[str, Any]]:
    """Run a small evacuation scenario (written beside the run) on ``campus``; the report folder and the summary."""
    sc = tmp_path / "drill.toml"
    sc.write_text(f'kind = "evacuation"\nname = "{name}"\ncampus = "{campus.as_posix()}"\nseed = 1\nreplications = 2\n'
                  'route = "adaptive"\n', encoding="utf-8")
    r = CliRunner().invoke(app, ["run", str(sc), "-o", str(tmp_path / "run"), "--json"])
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    return tmp_path / "run", json.loads(r.stdout)


def check_report(browser: Any, run: Path, tmp_path: Path, name: str, *, buildings: int) -> Path:
    """Open the drill report in ``run`` offline in the browser, check it and screenshot it; returns the PNG.

    The screenshot is also copied into ``$TWIN_SCREENSHOTS`` when that is set, to be looked at.
    """
    from PIL import Image

    seen = open_offline(browser, run / "report.html")
    page = seen.page
    try:
        page.wait_for_selector(".leaflet-pane path.rp-building")
        drawn = page.evaluate("""() => ({
            title: document.querySelector("h1").textContent,
            buildings: document.querySelectorAll("path.rp-building").length,
            assembly: document.querySelectorAll("path.rp-assembly").length,
            exits: document.querySelectorAll("path.rp-exit").length,
            mapHeight: document.querySelector(".folium-map").getBoundingClientRect().height,
        })""")
        assert name in drawn["title"]
        assert drawn["buildings"] == buildings and drawn["assembly"] == 1 and drawn["exits"] >= 1
        assert drawn["mapHeight"] > 400
        png = tmp_path / "report.png"
        page.screenshot(path=str(png), full_page=True)
        assert seen.errors == [] and seen.remote == [] and seen.dialogs == []
    finally:
        page.close()
    img = Image.open(png).convert("RGB")
    assert img.width >= 1200 and img.height > 900
    assert len(img.getcolors(maxcolors=1 << 20) or []) > 50  # a drawn page, not a blank one
    shots = os.environ.get("TWIN_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(shots) / f"{name.replace(' ', '-')}.png")
    return png
