"""The content box in the corrected frame against every pixel of the runs moved one by one."""

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from imaging.geometry import runs_box
from imaging.runs import find_runs


def _box_of_every_pixel(runs, angle, flip):
    # The same arithmetic as the rotation's mapping, pixel by pixel (the definition).
    h, w = runs.height, runs.width
    r = math.radians(angle)
    c, s, sign = math.cos(r), math.sin(r), (-1.0 if flip else 1.0)
    xc, yc = (w - 1) / 2.0, (h - 1) / 2.0
    xs, ys = [], []
    for y, x0, x1 in zip(runs.y, runs.x0, runs.x1):
        dy = y - yc
        bx = xc + sign * (-c * xc - s * dy) + 0.5
        by = yc + sign * (-s * xc + c * dy) + 0.5
        for x in range(x0, x1 + 1):
            fx, fy = bx + sign * c * x, by + sign * s * x
            if fx >= 0.0 and fy >= 0.0 and int(fx) < w and int(fy) < h:
                xs.append(int(fx))
                ys.append(int(fy))
    if not xs:
        return None
    return max(0, min(xs) - 1), max(0, min(ys) - 1), min(w, max(xs) + 2), min(h, max(ys) + 2)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(8, 60), st.integers(8, 90), st.floats(-45, 45), st.booleans(),
       st.floats(0.01, 0.6))
def test_box_is_that_of_every_pixel_moved(seed, h, w, angle, flip, density):
    rng = np.random.default_rng(seed)
    mask = (rng.random((h, w)) < density).astype(np.uint8)
    # long runs reaching the frame's border too, where part of a run leaves the frame
    mask[rng.integers(0, h), :] = 1
    mask[rng.integers(0, h), rng.integers(0, w // 2):] = 1
    runs = find_runs(mask)
    assert runs_box(runs, angle, flip=flip) == _box_of_every_pixel(runs, angle, flip)
