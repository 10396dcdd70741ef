"""The frontier picture's trial ids, each put where it covers no other id and no front marker.

Front points often crowd into one corner of the plot (the best accuracy at the best efficiency), where ids all put
above-right of their points ran into each other ("#14#17") and into the knee's star. Each id goes to the first free
corner of its point (:data:`CORNERS`), away from its nearest neighbour first where markers crowd (an id between two
points reads as either's), inside the axes where a corner allows; where every corner is taken, to the one with the
least overlap. The corners are chosen as the figure is drawn, once its layout is done (no extra layout pass:
matplotlib's constrained layout is most of a figure's cost), and again at every draw, so a figure drawn at another
size or dpi places them again.

A module of its own, imported when a figure is drawn (:mod:`lightning_ecopt.views` imports no matplotlib at module
level), so that :class:`TrialId` is importable by name: the figure pickles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

__all__ = ["CORNERS", "CROWDED_PX", "TrialId", "add_trial_ids"]

CORNERS = ((1, 1), (1, -1), (-1, 1), (-1, -1))
"""Where a trial id may go, in the order tried: above right of its point, below right, above left, below left."""

CROWDED_PX = 60
"""Front markers closer than this (pixels, centre to centre) are crowded: an id goes away from the nearest first."""


class _Placement:
    """What the ids of one axes share while a figure draws: the ids in order, and the boxes taken so far."""

    def __init__(self, ax: Axes) -> None:
        self.ax = ax
        self.ids: list[TrialId] = []
        self.taken: list[Bbox] = []  # the markers, then the ids placed so far in this draw


class TrialId(Annotation):
    """One front point's trial id, which picks its corner when drawn (see the module docstring).

    Args:
        text: The id (``"#12"``).
        xy: The point, in data coordinates.
        radius: Its marker's radius in points (an id keeps 1 point clear of it).
        placement: Shared by the ids of the axes (:func:`add_trial_ids`).
    """

    def __init__(self, text: str, xy: tuple[float, float], radius: float, placement: _Placement) -> None:
        super().__init__(text, xy, xytext=(radius + 1, radius + 1), textcoords="offset points", fontsize=8, zorder=6)
        self.radius = radius
        self.placement = placement
        self.set_clip_on(False)  # an id may reach past the axes' frame (constrained layout makes room for it)

    def draw(self, renderer: Any) -> None:
        """Choose this id's corner, then draw it."""
        placement = self.placement
        taken = placement.taken
        if self is placement.ids[0]:  # a new draw: the markers are where this draw's layout put them
            taken.clear()
            for label in placement.ids:
                x, y = placement.ax.transData.transform(label.xy)
                r = renderer.points_to_pixels(label.radius)
                taken.append(Bbox.from_extents(x - r, y - r, x + r, y + r))
        frame = placement.ax.get_window_extent(renderer)
        overlaps = {}
        for corner in self._corners():
            box = self._put(corner, renderer)
            outside = box.width * box.height - overlap_area(box, frame)  # an id past the frame may cover ticks
            overlaps[corner] = sum(overlap_area(box, other) for other in taken) + outside
            if overlaps[corner] == 0:
                break
        taken.append(self._put(min(overlaps, key=overlaps.__getitem__), renderer))  # the first of the least
        super().draw(renderer)

    def _corners(self) -> list[tuple[int, int]]:
        """The corners in the order tried: away from the nearest other marker first, where one is near."""
        ids, taken = self.placement.ids, self.placement.taken
        index = next(i for i, label in enumerate(ids) if label is self)
        centres = [np.asarray(box.get_points()).mean(axis=0) for box in taken[: len(ids)]]
        near = [c - centres[index] for i, c in enumerate(centres) if i != index]
        near = [d for d in near if np.hypot(*d) < CROWDED_PX]
        if not near:
            return list(CORNERS)
        toward = min(near, key=lambda d: float(np.hypot(*d)))
        return sorted(CORNERS, key=lambda corner: float(np.dot(corner, toward) > 0))

    def _put(self, corner: tuple[int, int], renderer: Any) -> Bbox:
        right, up = corner
        self.xyann = (right * (self.radius + 1), up * (self.radius + 1))
        self.set_horizontalalignment("left" if right > 0 else "right")
        self.set_verticalalignment("bottom" if up > 0 else "top")
        return self.get_window_extent(renderer)


def add_trial_ids(ax: Axes, points: Sequence[tuple[str, float, float, float]]) -> list[TrialId]:
    """Label the front's points with their trial ids.

    Args:
        ax: The axes.
        points: ``(text, x, y, marker radius in points)`` of each front point, in the order their ids are placed.

    Returns:
        The ids, added to ``ax``.
    """
    placement = _Placement(ax)
    for text, x, y, radius in points:
        label = TrialId(text, (x, y), radius, placement)
        placement.ids.append(label)
        ax.add_artist(label)
    return placement.ids


def overlap_area(a: Bbox, b: Bbox) -> float:
    """The area two boxes share (0 where they do not meet).

    >>> overlap_area(Bbox.from_extents(0, 0, 2, 2), Bbox.from_extents(1, 1, 3, 3))
    1.0
    """
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return float(width * height) if width > 0 and height > 0 else 0.0
