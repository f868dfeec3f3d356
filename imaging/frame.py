"""Boxes between the analysis copy and the page, quarter turns of the frame, and the crop's fail-safe.

A box is ``(x0, y0, x1, y1)``, integers, end-exclusive. The corrected frame and
the order of its turns are defined in docs/design.md section 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from imaging.errors import ImageError


def scale_box(box: tuple[int, int, int, int], factor: int, width: int, height: int) -> list[int]:
    """A box of the analysis copy (the page reduced by ``factor``) in page pixels.

    A box that reaches the copy's last row or column reaches the page's: the
    reduction dropped the last ``width mod factor`` columns and ``height mod
    factor`` rows, which belong to the same side of the page.
    """
    x0, y0, x1, y1 = box
    f = factor
    x1 = width if x1 >= width // f else x1 * f
    y1 = height if y1 >= height // f else y1 * f
    return [min(x0 * f, width - 1), min(y0 * f, height - 1), max(x1, x0 * f + 1), max(y1, y0 * f + 1)]


def turn_box(box: list[int] | tuple[int, ...], degrees: int, width: int, height: int) -> list[int]:
    """A box of a ``width x height`` frame in that frame turned clockwise by ``degrees`` (0, 90, 180, 270).

    A point ``(x, y)`` (pixel corners) goes to ``(height - y, x)`` for 90,
    ``(width - x, height - y)`` for 180 and ``(y, width - x)`` for 270.

    Raises
    ------
    ImageError
        For another angle.
    """
    x0, y0, x1, y1 = (int(v) for v in box)
    if degrees == 90:
        return [height - y1, x0, height - y0, x1]
    if degrees == 180:
        return [width - x1, height - y1, width - x0, height - y0]
    if degrees == 270:
        return [y0, width - x1, y1, width - x0]
    if degrees == 0:
        return [x0, y0, x1, y1]
    raise ImageError(f"turn {degrees!r} must be 0, 90, 180 or 270 degrees")


@dataclass(frozen=True)
class SafeCrop:
    """Result of :func:`keep_content`.

    Attributes
    ----------
    box : tuple of int
        The crop: the sheet box with every side that would cut the content (or
        come closer to it than the margin) moved back to the frame's edge.
    rejected : tuple of bool
        Per coordinate of ``box``: that side of the sheet box was rejected.
    gap : float or None
        The smallest gap in pixels from the content to a rejected side
        (negative: the content lay outside it); None when no side was rejected.
    """

    box: tuple[int, int, int, int]
    rejected: tuple[bool, bool, bool, bool]
    gap: float | None


def keep_content(sheet: tuple[int, int, int, int], found: tuple[bool, ...],
                 content: tuple[int, int, int, int] | None, margin: int, width: int, height: int) -> SafeCrop:
    """The fail-safe of the crop: a found sheet side must leave ``margin`` pixels round the content.

    Parameters
    ----------
    sheet : tuple of int
        The sheet box, in the same frame as ``content`` (``width x height``).
    found : tuple of bool
        Per coordinate of ``sheet``: it comes from a sheet edge found in the scan
        (a side that is the frame's edge is never rejected).
    content : tuple of int or None
        The content box measured on the uncropped page; None on a blank page.
    margin : int
        Pixels the crop must leave between the content and a found side.
    """
    if content is None:
        return SafeCrop(tuple(sheet), (False,) * 4, None)
    frame = (0, 0, width, height)
    gaps = (content[0] - sheet[0], content[1] - sheet[1], sheet[2] - content[2], sheet[3] - content[3])
    box = list(sheet)
    rejected = [False] * 4
    for i in range(4):
        if found[i] and sheet[i] != frame[i] and gaps[i] < margin:
            box[i] = frame[i]
            rejected[i] = True
    worst = min((g for g, r in zip(gaps, rejected) if r), default=None)
    return SafeCrop(tuple(box), tuple(rejected), None if worst is None else float(worst))
