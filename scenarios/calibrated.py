"""The calibrated scenario file: the plan written again with what ``twin compare --calibrate`` fitted.

:func:`write_calibrated` keeps every other key of the plan; the fit itself is
:func:`scenarios.calibrate.calibrate`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scenarios.calibrate import Calibration


def write_calibrated(scenario_path: str | Path, out_path: str | Path, cal: Calibration, *, source: str) -> Path:
    """Write the scenario file again with the fitted values: ``premovement`` and ``settings.flow_door``.

    Every other key of the original is kept; values the recording did not
    identify stay as they were. A relative ``campus`` is rewritten relative to
    the new file's folder, so it still loads.
    """
    import tomli_w

    src = Path(scenario_path)
    doc = tomllib.loads(src.read_text(encoding="utf-8"))
    if cal.premovement_mean is not None:
        pre = doc.get("premovement")
        keep = {k: pre[k] for k in ("min", "max") if isinstance(pre, dict) and k in pre}
        doc["premovement"] = {"dist": "lognormal", "mean": round(cal.premovement_mean, 2), "sd": round(cal.premovement_sd or 0.0, 2), **keep}
    if cal.flow_door is not None:
        doc.setdefault("settings", {})["flow_door"] = round(cal.flow_door, 4)
    out = Path(out_path)
    campus = Path(doc["campus"])
    if not campus.is_absolute():
        doc["campus"] = Path(os.path.relpath((src.parent / campus).resolve(), out.resolve().parent)).as_posix()
    head = (f"# Calibrated by twin compare from {source}:\n"
            + "".join(f"#   {w}\n" for w in cal.warnings)
            + f"# flow_door {'fitted' if cal.flow_door is not None else 'not identified (kept)'}, "
            f"premovement {'fitted' if cal.premovement_mean is not None else 'not identified (kept)'}; "
            f"every other key as in {src.name}.\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(head + tomli_w.dumps(doc), encoding="utf-8")
    return out
