import numpy as np
import pytest

from bench.imaging_pages import cached_page as page
from imaging.errors import ImageError
from imaging.orientation import detect_orientation
from imaging.pipeline import process_page


@pytest.mark.parametrize("seed,content,dpi", [(60, "text", 200), (61, "table", 200), (62, "text", 300)])
def test_upright_and_upside_down(seed, content, dpi):
    up = process_page(page(seed=seed, content=content, skew_deg=1.2, dpi=dpi), dpi)
    down = process_page(page(seed=seed, content=content, skew_deg=1.2, dpi=dpi, upside_down=True), dpi)
    assert up.analysis.orientation == 0 and up.analysis.orientation_measure > 0.05
    assert down.analysis.orientation == 180 and down.analysis.orientation_measure < -0.05


def test_upside_down_page_is_turned_back():
    img = page(seed=63, skew_deg=0.0, background="none", upside_down=True)
    r = process_page(img, 200)
    assert r.analysis.orientation == 180
    # Turning the output back by 180 degrees gives the input (no skew applied).
    assert r.analysis.angle_applied == 0.0
    x0, y0, x1, y1 = r.analysis.crop_box
    h, w = img.shape
    assert np.array_equal(r.colour[::-1, ::-1], img[h - y1:h - y0, w - x1:w - x0])


def test_few_lines_stay_upright():
    mask = np.zeros((100, 100), np.uint8)
    mask[40:48, 10:90] = 1
    assert detect_orientation(mask, 0.0).degrees == 0


def test_bad_angle():
    with pytest.raises(ImageError):
        detect_orientation(np.zeros((20, 20), np.uint8), 90.0)


def _lines_mask(n_lines=24, width=300, above=3, below=1, seed=0):
    """Text-like lines: a core band with marks above (ascenders, accents) and fewer below."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((n_lines * 14 + 20, width + 40), np.uint8)
    for i in range(n_lines):
        y = 10 + i * 14
        for x in range(20, 20 + width, 6):
            mask[y + 3:y + 8, x:x + 4] = 1                       # x-height
            if rng.random() < 0.5:
                mask[y:y + 3, x + 1:x + 1 + above] = 1           # above the core
            if rng.random() < 0.25:
                mask[y + 8:y + 10, x + 1:x + 1 + below] = 1      # below it
    return mask


def test_more_ink_above_the_core_reads_upright_and_its_mirror_upside_down():
    mask = _lines_mask()
    up = detect_orientation(mask, 0.0, strip=30)
    down = detect_orientation(mask[::-1, ::-1], 0.0, strip=30)
    assert up.degrees == 0 and up.score > 3 and up.confidence > 0.99
    assert down.degrees == 180 and down.score < -3 and down.confidence > 0.99
    assert up.lines >= 24 and up.measure > 0 > down.measure


def test_no_preferred_direction_gives_low_confidence():
    mask = _lines_mask(above=2, below=2)
    mask[:, :] = 0
    rng = np.random.default_rng(5)
    for i in range(24):  # symmetric lines: as much above as below
        y = 10 + i * 14
        for x in range(20, 320, 6):
            mask[y + 3:y + 8, x:x + 4] = 1
            k = rng.random()
            if k < 0.3:
                mask[y:y + 3, x + 1:x + 3] = 1
            elif k < 0.6:
                mask[y + 8:y + 11, x + 1:x + 3] = 1
    o = detect_orientation(mask, 0.0, strip=30)
    assert o.confidence < 0.99


def test_segment_votes_match_a_plain_count():
    from imaging.orientation import _profiles, _segments, _votes
    from imaging.runs import find_runs

    mask = _lines_mask(n_lines=6, seed=2)
    runs = find_runs(mask)
    _, sprof, _ = _profiles(runs.y, runs.x0, runs.x1, runs.height, runs.width, 0.0, 30)
    seg = _segments(sprof)
    # plain reference: per strip of 30 columns, runs of non-empty rows >= 4 high
    ref = []
    for s0 in range(0, mask.shape[1], 30):
        prof = mask[:, s0:s0 + 30].sum(axis=1).astype(float)
        i = 0
        while i < prof.size:
            if prof[i] == 0:
                i += 1
                continue
            a = i
            while i < prof.size and prof[i] > 0:
                i += 1
            if i - a < 4:
                continue
            p = prof[a:i]
            core = np.flatnonzero(p >= 0.5 * p.max())
            ref.append((i - a, p.sum(), p[:core[0]].sum(), p[core[-1] + 1:].sum()))
    np.testing.assert_allclose(seg, np.array(ref, float).reshape(-1, 4))
    b = _votes(seg)
    assert b.size > 0 and (b > 0).mean() > 0.8


def test_line_ends_match_a_plain_reference():
    from imaging.orientation import _line_ends, _profiles
    from imaging.runs import find_runs

    mask = _lines_mask(n_lines=8, seed=4)
    mask[30:36, 5:12] = 1  # one line starts further left
    runs = find_runs(mask)
    prof, _, off = _profiles(runs.y, runs.x0, runs.x1, runs.height, runs.width, 0.0, 30)
    left, right = _line_ends(runs.y, runs.x0, runs.x1, prof, off, runs.width, 0.0)
    # plain reference at no skew: runs of non-empty rows at least 4 high, their ink's extent
    rows = mask.any(axis=1)
    ref_l, ref_r = [], []
    y = 0
    while y < rows.size:
        if not rows[y]:
            y += 1
            continue
        a = y
        while y < rows.size and rows[y]:
            y += 1
        if y - a >= 4:
            xs = np.flatnonzero(mask[a:y].any(axis=0))
            ref_l.append(xs[0] - (mask.shape[1] - 1) / 2)
            ref_r.append(xs[-1] - (mask.shape[1] - 1) / 2)
    np.testing.assert_allclose(left, ref_l)
    np.testing.assert_allclose(right, ref_r)
