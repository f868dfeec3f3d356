"""`sohoa imaging analyze/clean` on real files, and the design document's example."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.imaging_pages import cached_page as page
from firmware_agent.cli import main
from firmware_agent.pageio import read_image, write_image_atomic

ROOT = Path(__file__).resolve().parents[2]
KEYS = ["version", "file", "skew_deg", "skew_confidence", "blank", "content_box", "warnings", "ms"]


def _check_line(obj):
    assert list(obj) == KEYS
    assert obj["version"] == 1 and isinstance(obj["file"], str)
    assert isinstance(obj["skew_deg"], float) and 0.0 <= obj["skew_confidence"] <= 1.0
    assert isinstance(obj["blank"], bool) and obj["ms"] >= 0
    box = obj["content_box"]
    assert box is None or (len(box) == 4 and all(isinstance(v, int) for v in box) and box[0] < box[2]
                           and box[1] < box[3])
    for w in obj["warnings"]:
        assert list(w) == ["code", "measure", "limit"] and isinstance(w["code"], str)


def test_design_doc_example_line_follows_the_contract():
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    section = text[text.index("## 4. Imaging pipeline"):]
    example = re.search(r"```json\n(.*?)\n```", section, re.S).group(1)
    obj = json.loads(example)
    _check_line(obj)
    assert obj["skew_deg"] > 0 and obj["blank"] is False


@pytest.fixture()
def files(tmp_path):
    good = tmp_path / "page.png"
    write_image_atomic(good, page(seed=90, skew_deg=2.5, background="none"), dpi=200)
    colour = tmp_path / "colour.jpg"
    write_image_atomic(colour, page(seed=91, skew_deg=-1.5, colour=True), dpi=200)
    blank = tmp_path / "blank.png"
    write_image_atomic(blank, page(seed=92, content="blank", specks=20), dpi=200)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(colour.read_bytes()[:5000])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    tiny = tmp_path / "tiny.png"
    write_image_atomic(tiny, np.zeros((1, 1), np.uint8), dpi=300)
    deep = tmp_path / "deep.png"
    from PIL import Image
    Image.fromarray(np.full((300, 200), 40000, np.uint16)).save(deep)
    return dict(good=good, colour=colour, blank=blank, corrupt=corrupt, truncated=truncated, empty=empty,
                tiny=tiny, deep=deep)


def test_analyze_prints_one_json_line_per_file(files, capsys):
    order = ["good", "colour", "blank"]
    assert main(["imaging", "analyze", *(str(files[k]) for k in order)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    objs = [json.loads(line) for line in lines]
    for name, obj in zip(order, objs):
        _check_line(obj)
        assert obj["file"] == str(files[name])
    assert abs(objs[0]["skew_deg"] - 2.5) < 0.1 and abs(objs[1]["skew_deg"] + 1.5) < 0.1
    assert objs[2]["blank"] is True and objs[2]["content_box"] is None


@pytest.mark.parametrize("bad", ["corrupt", "truncated", "empty", "tiny", "deep"])
def test_analyze_reports_bad_files_and_goes_on(files, bad, capsys):
    assert main(["imaging", "analyze", str(files[bad]), str(files["good"])]) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["file"] == str(files[bad]) and first["error"]
    assert second["blank"] is False


def test_clean_writes_colour_and_bitonal(files, tmp_path):
    out, bit = tmp_path / "out.jpg", tmp_path / "out-bitonal.png"
    assert main(["imaging", "clean", str(files["colour"]), str(out), "--bitonal", str(bit)]) == 0
    colour, dpi = read_image(out)
    bitonal, bdpi = read_image(bit)
    assert colour.ndim == 3 and dpi == 200 and bdpi == 200
    assert bitonal.shape == colour.shape[:2] and set(np.unique(bitonal)) <= {0, 255}


def test_clean_says_each_warning_in_the_operators_words(tmp_path, capsys):
    from firmware_agent.messages import CATALOGUE

    # A black band ending just before the text: the found edge would graze it, so
    # the side is kept whole (crop_unsure); a gray scan (low_colour_depth).
    img = np.array(page(dpi=200, seed=205, background="none"))
    img[:, :int(21.5 * 200 / 25.4)] = 20
    src, out = tmp_path / "band.png", tmp_path / "band.jpg"
    write_image_atomic(src, img, dpi=200)
    assert main(["imaging", "clean", str(src), str(out)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"{src}: ") and "2 warning(s)" in lines[0]
    unsure, gray = CATALOGUE["page.warning.crop_unsure"], CATALOGUE["page.warning.low_colour_depth"]
    assert lines[1].startswith(f"  {unsure.text} [crop_unsure: ") and lines[1].endswith(
        f"; 1.0]: {unsure.action_vi} / {unsure.action_en}")
    assert lines[1].startswith("  Không chắc mép giấy, giữ nguyên khổ quét / Sheet edge unsure, whole scan kept")
    assert lines[2] == f"  {gray.text} [low_colour_depth: 8.0; 24.0]: {gray.action_vi} / {gray.action_en}"
    assert len(lines) == 3


def test_every_page_warning_has_the_operators_words():
    import ast

    from firmware_agent.page_warnings import MESSAGES, describe
    from imaging.record import WARNING_CODES

    assert tuple(MESSAGES) == WARNING_CODES
    assert all(m.code == f"page.warning.{code}" and m.vi and m.action_vi for code, m in MESSAGES.items())
    # Every code the pipeline can put on a page is one of them (its _warn calls, read from the source).
    emitted = set()
    for path in (ROOT / "imaging").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_warn":
                emitted.add(node.args[0].value)
    assert emitted == set(WARNING_CODES)
    assert describe({"code": "later_code", "measure": 1.0, "limit": 2.0}) == "[later_code: 1.0; 2.0]"


def test_clean_refuses_a_corrupt_file(files, tmp_path, capsys):
    out = tmp_path / "never.jpg"
    assert main(["imaging", "clean", str(files["corrupt"]), str(out)]) == 1
    assert not out.exists()
    assert "Cannot clean page" in capsys.readouterr().err


def test_console_script_runs(files):
    proc = subprocess.run([sys.executable, "-m", "firmware_agent", "imaging", "analyze", str(files["good"])],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    _check_line(json.loads(proc.stdout))
