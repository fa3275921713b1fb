"""Writing the campus file: RFC 7946 GeoJSON, coordinates rounded, replaced atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from maps.osm.tags import COORD_DIGITS


def _rounded(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), COORD_DIGITS) for c in coords[:2]]
    return [_rounded(c) for c in coords]


def write_geojson(features: list[tuple[dict[str, Any], BaseGeometry]], path: Path) -> None:
    """Write the FeatureCollection to ``path`` atomically (temp file + rename)."""
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": props["id"],
                "properties": props,
                "geometry": {"type": geom.geom_type, "coordinates": _rounded(mapping(geom)["coordinates"])},
            }
            for props, geom in features
        ],
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(geojson, f, ensure_ascii=False, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
