"""The look every report plot shares: figure size and resolution, titles, labels, grid.

Figures are built without pyplot (no global state), so reports can be drawn
in any thread or process.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

DPI = 110
"""Resolution of report plots (dots per inch)."""


def figure(width: float, height: float) -> Figure:
    """A matplotlib figure of ``width`` × ``height`` inches."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def style_axes(ax: Any, title: str, xlabel: str, ylabel: str, *, from_zero: bool = False) -> None:
    """Title, axis labels and a light grid; with ``from_zero`` both axes start at 0."""
    ax.set_title(title, fontsize=12, fontweight="bold", loc="left")
    ax.set_xlabel(xlabel, fontsize=10.5)
    ax.set_ylabel(ylabel, fontsize=10.5)
    ax.grid(True, color="#dddddd", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    if from_zero:
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
