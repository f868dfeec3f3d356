"""The message catalogues (docs/design.md §1.1): the file format, the loader, and that the code uses them.

Every code has both languages with the same placeholders; every code the sources
look up exists and every code in a catalogue is looked up; no Vietnamese text is
left in the sources outside the catalogues (except the allow-listed domain
vocabulary and paper content).
"""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path

import pytest

from sync.catalogue import LEVELS, Catalogue, CatalogueError, Message, load, parse, placeholders

ROOT = Path(__file__).resolve().parents[1]
# Each program's catalogue and the packages whose sources may look into it.
PROGRAMS = {
    "firmware_agent/messages.toml": ("firmware_agent",),
    "central/messages.toml": ("central",),
}


# ---------------------------------------------------------------------- the loader

def test_a_message_is_looked_up_filled_and_shown_vietnamese_first():
    cat = parse('version = 1\n[intake.page_damaged]\nlevel = "error"\n'
                'vi = "Ảnh trong trang {page} của PDF bị hỏng"\nen = "Image on PDF page {page} is damaged"\n')
    msg = cat["intake.page_damaged"]
    assert (msg.code, msg.level) == ("intake.page_damaged", "error")
    filled = msg.format(page=3)
    assert filled.text == "Ảnh trong trang 3 của PDF bị hỏng / Image on PDF page 3 is damaged"
    assert filled.to_dict() == {"code": "intake.page_damaged", "level": "error",
                                "vi": "Ảnh trong trang 3 của PDF bị hỏng", "en": "Image on PDF page 3 is damaged",
                                "text": filled.text, "action_vi": "", "action_en": ""}
    assert msg.vi.endswith("{page} của PDF bị hỏng")  # the catalogue's own message is unchanged
    assert cat.to_dict() == {"version": 1, "messages": {"intake.page_damaged": msg.to_dict()}}


def test_filling_needs_exactly_the_names_a_message_uses():
    msg = parse('version = 1\n[a.b]\nvi = "{n} trang, {pct:.1f} %"\nen = "{n} pages, {pct:.1f} %"\n'
                'action_vi = "Gọi {who}"\naction_en = "Call {who}"\n')["a.b"]
    assert msg.format(n=2, pct=12.345, who="kỹ thuật viên").vi == "2 trang, 12.3 %"
    assert msg.format(n=2, pct=1, who="x").action_en == "Call x"
    with pytest.raises(ValueError, match="missing values \\['who'\\]"):
        msg.format(n=2, pct=1)
    with pytest.raises(ValueError, match="unknown values \\['seq'\\]"):
        msg.format(n=2, pct=1, who="x", seq=4)


def test_braces_and_percent_signs_are_text():
    msg = parse('version = 1\n[a.b]\nvi = "{{x}} %%EOF {n}"\nen = "{{x}} %%EOF {n}"\n')["a.b"]
    assert msg.format(n=1).text == "{x} %%EOF 1 / {x} %%EOF 1"


def test_the_catalogue_is_immutable():
    cat = parse('version = 1\n[a.b]\nvi = "x"\nen = "y"\n')
    with pytest.raises(AttributeError):
        cat.source = "other"
    with pytest.raises(TypeError):
        cat["a.c"] = Message("a.c", "x", "y")  # type: ignore[index]
    with pytest.raises(TypeError):
        cat._messages["a.c"] = Message("a.c", "x", "y")
    with pytest.raises(KeyError, match="no message 'a.c'"):
        cat["a.c"]
    with pytest.raises(AttributeError):
        cat["a.b"].vi = "z"  # type: ignore[misc]


@pytest.mark.parametrize("text,problem", [
    ('[a.b]\nvi = "x"\nen = "y"\n', "version = 1"),
    ('version = 2\n[a.b]\nvi = "x"\nen = "y"\n', "version = 1"),
    ('version = 1\n[a.b]\nvi = "x"\n', "a.b.en is missing"),
    ('version = 1\n[a.b]\nvi = " "\nen = "y"\n', "a.b.vi is missing or empty"),
    ('version = 1\n[a.b]\nvi = "x {n}"\nen = "y"\n', "vi names \\['n'\\] but en names \\[\\]"),
    ('version = 1\n[a.b]\nvi = "x"\nen = "y"\naction_vi = "{who}"\naction_en = "z"\n', "action_vi names"),
    ('version = 1\n[a.b]\nvi = "x"\nen = "y"\naction_vi = "z"\n', "come together"),
    ('version = 1\n[a.b]\nvi = "x"\nen = "y"\nlevel = "fatal"\n', "level must be one of"),
    ('version = 1\n[a.b]\nvi = "x"\nen = "y"\nnote = "z"\n', "unknown field"),
    ('version = 1\n[a.b]\nvi = "x"\nen = "y"\n[a.b.c]\nvi = "x"\nen = "y"\n', "unknown field"),
    ('version = 1\n[a.b]\nvi = "x {0}"\nen = "y {0}"\n', "plain name"),
    ('version = 1\n[a.b]\nvi = "x {n.real}"\nen = "y {n.real}"\n', "plain name"),
    ('version = 1\n[a.b]\nvi = "x {n!r}"\nen = "y {n!r}"\n', "plain name"),
    ('version = 1\n[a.b]\nvi = "x {"\nen = "y"\n', "a.b"),
    ('version = 1\n[a.B]\nvi = "x"\nen = "y"\n', "segment"),
    ('version = 1\n[ab]\nvi = "x"\nen = "y"\n', "area and a name"),
    ('version = 1\n[a]\nb = "x"\n', "not a table"),
    ('version = 1\n[a.b]\nvi = "Ke\u0323t gia\u0301y"\nen = "Paper jam"\n', "NFC"),
    ('version = 1\n[a.b\nvi = "x"\n', "<catalogue>"),
])
def test_a_broken_catalogue_is_refused_whole(text, problem):
    with pytest.raises(CatalogueError, match=problem):
        parse(text)


def test_placeholders_reads_names_and_specs():
    assert placeholders("{a} {b:.1f} {{c}} {a}") == {"a", "b"}


# ---------------------------------------------------------------------- the catalogues

@pytest.mark.parametrize("path", sorted(PROGRAMS))
def test_every_code_has_both_languages_with_the_same_values(path):
    """Re-checked here as the rules say, not only as the loader enforces them."""
    cat = load(ROOT / path)
    assert isinstance(cat, Catalogue) and len(cat) > 0
    for code, msg in cat.items():
        assert msg.code == code
        assert msg.vi.strip() and msg.en.strip(), code
        assert msg.level in LEVELS, code
        assert placeholders(msg.vi) == placeholders(msg.en), code
        assert placeholders(msg.action_vi) == placeholders(msg.action_en), code
        assert bool(msg.action_vi) == bool(msg.action_en), code
        # Vietnamese first means Vietnamese words: the vi text is not the English one copied.
        if any(c.isalpha() for c in msg.en) and len(msg.en) > 12:
            assert msg.vi != msg.en, code


# ---------------------------------------------------------------------- the sources

# Vietnamese text that is not a message: domain vocabulary, what is printed on or read from
# paper, and config defaults (the commune's own names). Whole files, then single literals.
NOT_MESSAGES_FILES = {
    "firmware_agent/records/samples.py": "the text of generated sample documents",
    "central/demo_station.py": "the text of the demo's generated sample documents",
    "records/codes.py": "TT 05/2025's code tables (domain vocabulary)",
    "records/metadata.py": "words read from the paper documents",
    "records/bodies.py": "the words of administrative bodies' names as documents print them",
    "records/organ.py": "the words of administrative bodies' names as documents print them",
    "records/text.py": "words read from the paper documents",
    "records/classify.py": "document type names of the rules table",
    "records/coversheet.py": "what a cover sheet prints",
    "records/places.py": "the unit words the national list of administrative units puts before names",
}
NOT_MESSAGES_LITERALS = {
    ("firmware_agent/climate/settings.py", "Kho lưu trữ"),  # default room_name (config)
    ("firmware_agent/climate/settings.py",
     "Where it hangs, shown on the status page and the report (e.g. 'Kho 1, kệ A')."),  # a config field's help
    ("firmware_agent/records/settings.py", "Ủy ban nhân dân xã (demo)"),  # default agency_name (config)
}
SOURCE_PACKAGES = ("firmware_agent", "drivers", "imaging", "records", "sync", "central")
_VIETNAMESE_MARKS = {"\u0300", "\u0301", "\u0302", "\u0303", "\u0306", "\u0309", "\u0323", "\u031b"}


def is_vietnamese(text: str) -> bool:
    """True if *text* has a letter only Vietnamese writes here (a tone or vowel mark, or đ)."""
    return "đ" in text.lower() or any(c in _VIETNAMESE_MARKS for c in unicodedata.normalize("NFD", text))


def _sources(*packages: str):
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def lookups(*packages: str) -> tuple[dict[str, list[str]], list[str]]:
    """Codes looked up as ``CATALOGUE["code"]`` (code -> where), and every lookup that is not a literal."""
    used: dict[str, list[str]] = {}
    computed = []
    for name, tree in _sources(*packages):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Subscript):
                continue
            target = node.value
            if not ((isinstance(target, ast.Name) and target.id == "CATALOGUE")
                    or (isinstance(target, ast.Attribute) and target.attr == "CATALOGUE")):
                continue
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                used.setdefault(node.slice.value, []).append(f"{name}:{node.lineno}")
            else:
                computed.append(f"{name}:{node.lineno}")
    return used, computed


def test_the_scan_finds_the_lookups_it_is_meant_to():
    tree = ast.parse('CATALOGUE["a.b"].text\nx.CATALOGUE["c.d"]\nCATALOGUE[f"a.{k}"]\nOTHER["e.f"]\n')
    found = [n.slice.value for n in ast.walk(tree) if isinstance(n, ast.Subscript)
             and isinstance(n.slice, ast.Constant)]
    assert sorted(found) == ["a.b", "c.d", "e.f"]
    assert is_vietnamese("Kẹt giấy") and is_vietnamese("đ") and is_vietnamese("Ke\u0323t")
    assert not is_vietnamese("Paper jam — 24 °C × 3 … → naïve")


PAGE_CODE = re.compile(r"""["'](status\.[a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")


def page_lookups(*packages: str) -> dict[str, list[str]]:
    """Codes the status page's scripts name as string literals (``msg("status.…")``, maps of codes): M5, M8."""
    used: dict[str, list[str]] = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix not in (".js", ".html"):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for code in PAGE_CODE.findall(line):
                    used.setdefault(code, []).append(f"{path.relative_to(ROOT).as_posix()}:{n}")
    return used


def test_the_page_scan_finds_the_codes_a_script_names():
    assert PAGE_CODE.findall('msg("status.review.keep") + msgText(\'status.review.role.cover\') "status" "a.b"') == [
        "status.review.keep", "status.review.role.cover"]


def test_the_page_review_script_takes_every_word_from_the_catalogue():
    text = (ROOT / "firmware_agent/web/review.js").read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if is_vietnamese(line)] == []
    assert len(page_lookups("firmware_agent")) >= 40


@pytest.mark.parametrize("path,packages", sorted(PROGRAMS.items()))
def test_every_code_the_code_looks_up_exists_and_every_code_is_looked_up(path, packages):
    catalogue = load(ROOT / path)
    used, computed = lookups(*packages)
    for code, where in page_lookups(*packages).items():
        used.setdefault(code, []).extend(where)
    assert computed == [], "look messages up by a literal code (design §1.1 M5)"
    assert {code: where for code, where in used.items() if code not in catalogue} == {}
    assert [code for code in catalogue if code not in used] == []


def _read_lookups(*packages: str):
    """``(code, given, where)`` for each message read right at its lookup: ``CATALOGUE["code"].format(...)``
    gives the keyword names; ``.text``, ``.vi``, ``.en`` read straight off it give none."""
    for name, tree in _sources(*packages):
        calls = {id(n.func): n for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "format"}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Subscript)):
                continue
            sub = node.value
            if not (isinstance(sub.value, ast.Name) and sub.value.id == "CATALOGUE"
                    and isinstance(sub.slice, ast.Constant)):
                continue
            where = f"{name}:{node.lineno}"
            if node.attr in ("text", "vi", "en", "action_vi", "action_en"):
                yield sub.slice.value, frozenset(), where
            elif node.attr == "format":
                call = calls[id(node)]
                assert not call.args and all(k.arg for k in call.keywords), f"{where}: values by name only"
                yield sub.slice.value, frozenset(k.arg for k in call.keywords), where


@pytest.mark.parametrize("path,packages", sorted(PROGRAMS.items()))
def test_a_message_read_at_its_lookup_is_given_exactly_its_values(path, packages):
    """M3 checked where the call can be read: ``.format`` names what the message uses, ``.text`` needs none."""
    catalogue = load(ROOT / path)
    read = list(_read_lookups(*packages))
    wrong = [f"{where}: {code} needs {sorted(catalogue[code].names)}, given {sorted(given)}"
             for code, given, where in read if given != catalogue[code].names]
    assert wrong == [] and len(read) > 0


def test_only_the_two_programs_speak_to_people():
    """The shared packages raise errors with English details; the programs put the words on them (M6)."""
    assert lookups("drivers", "imaging", "records", "sync") == ({}, [])


def test_no_vietnamese_string_literal_is_left_outside_the_catalogues():
    left = []
    for name, tree in _sources(*SOURCE_PACKAGES):
        if name in NOT_MESSAGES_FILES:
            continue
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and is_vietnamese(node.value) and (name, node.value) not in NOT_MESSAGES_LITERALS):
                left.append(f"{name}:{node.lineno}: {node.value[:60]!r}")
    assert left == []


def test_the_allow_list_names_only_what_is_there():
    """An allow-list entry whose text moved away must go, so the list does not grow stale."""
    for name in NOT_MESSAGES_FILES:
        assert (ROOT / name).is_file(), name
    for name, text in NOT_MESSAGES_LITERALS:
        assert text in (ROOT / name).read_text(encoding="utf-8"), (name, text)


def test_the_station_and_the_server_each_load_their_own_catalogue():
    from central.messages import CATALOGUE as CENTRAL
    from firmware_agent.messages import CATALOGUE as STATION

    assert STATION.source.endswith("firmware_agent/messages.toml")
    assert CENTRAL.source.endswith("central/messages.toml")
    assert STATION["scanner.paper_jam"].text == "Kẹt giấy / Paper jam"


def test_every_scanner_error_of_the_driver_has_a_state_message():
    import drivers.scanner as scanner
    from firmware_agent.operator_states import MESSAGES, RESUMABLE, message_for_error

    errors = [c for c in vars(scanner).values() if isinstance(c, type) and issubclass(c, scanner.ScannerError)]
    assert len(errors) >= 10
    for error in errors:
        assert error.code in MESSAGES, error.__name__
        assert message_for_error(error("x")) is MESSAGES[error.code]
    assert RESUMABLE <= set(MESSAGES)
    assert all(m.code == f"scanner.{code}" for code, m in MESSAGES.items())


def _run(*argv: str, module: str) -> "subprocess.CompletedProcess[str]":
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


def test_the_central_command_speaks_from_its_catalogue(tmp_path):
    from central.messages import CATALOGUE

    bad = _run("token", "../x", "--root", str(tmp_path), module="central")
    assert bad.returncode == 2 and bad.stderr.strip() == "Mã thiết bị không hợp lệ / Invalid device id"
    missing = _run("revoke", "commune-1", "--root", str(tmp_path), module="central")
    assert missing.returncode == 1
    assert missing.stderr.strip() == CATALOGUE["cli.no_receiver_state"].format(root=tmp_path).text
    assert missing.stderr.startswith(f"Không có máy chủ nhận ở {tmp_path} (hãy chạy `sohoa-central serve`")


def test_a_refused_confirmation_says_why_vietnamese_first(tmp_path):
    from firmware_agent.journal import Journal
    from firmware_agent.records.review import confirm
    from firmware_agent.records.store import RecordStore

    journal = Journal(tmp_path)
    try:
        with pytest.raises(ValueError) as info:
            confirm(RecordStore(journal), 99, None, None)
    finally:
        journal.close()
    assert str(info.value) == "Hồ sơ 99 không ở trạng thái chờ xác nhận / Record file 99 is not held"


def test_errors_that_reach_a_person_carry_their_code_and_words(tmp_path):
    from firmware_agent.capture_file import decode_capture
    from firmware_agent.intake import IntakeError, count_pages
    from firmware_agent.pageio import PageReadError, read_image

    empty = tmp_path / "x.png"
    empty.write_bytes(b"")
    with pytest.raises(PageReadError) as page:
        read_image(empty)
    assert page.value.code == "page_file.empty" and str(page.value) == "Tệp x.png rỗng / File x.png is empty"
    with pytest.raises(PageReadError) as capture:
        decode_capture(b"\x28\xb5\x2f\xfd" + b"\0" * 20, "y")
    assert capture.value.code == "page_file.capture_damaged"
    assert str(capture.value).startswith("Tệp ảnh gốc y hỏng / Capture file y is damaged: ")
    with pytest.raises(IntakeError) as intake:
        count_pages(empty)
    assert (intake.value.code, intake.value.vi, intake.value.en) == (
        "intake.empty", "Tệp rỗng (0 byte)", "Empty file (0 bytes)")
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n")
    with pytest.raises(IntakeError) as truncated:
        count_pages(cut)
    assert str(truncated.value) == "Tệp PDF bị cắt cụt (thiếu dấu kết thúc %%EOF) / Truncated PDF (no %%EOF end marker)"
    missing = tmp_path / "gone.tif"
    with pytest.raises(IntakeError) as unreadable:
        count_pages(missing)
    assert unreadable.value.vi == "Không đọc được tệp"
    assert unreadable.value.en == "Cannot read file: No such file or directory" == "Cannot read file: " + unreadable.value.detail


def test_a_scan_key_the_driver_cannot_open_is_shown_in_the_operators_words(tmp_path):
    import time

    from firmware_agent.triggers import KeyTrigger

    device = tmp_path / "event7"
    key = KeyTrigger(str(device), 28, on_press=lambda: None, retry_s=0.05)
    key.start()
    try:
        for _ in range(400):
            if key.error:
                break
            time.sleep(0.025)
    finally:
        key.stop()
    assert key.error.startswith(f"Không dùng được phím quét {device} / Scan key {device} unavailable: ")
    assert "No such file" in key.error


def test_the_status_page_reads_the_whole_catalogue_at_api_messages():
    """GET /api/messages over real HTTP: every code, unfilled, no session needed, revalidated by ETag."""
    import asyncio

    import aiohttp
    from aiohttp import web

    from firmware_agent.messages import CATALOGUE
    from firmware_agent.web.app import build_app
    from firmware_agent.web.guard import Guard

    class NoActions:
        def scan(self, device, profile):
            return {"ok": False}

        def cancel(self, device):
            return {"ok": False}

    async def go():
        app = build_app(core_status=dict, core_metrics=list, sources=[], actions=NoActions(), guard=Guard())
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(base + "/api/messages") as r:
                    assert r.status == 200 and r.content_type == "application/json" and r.charset == "utf-8"
                    body, etag = await r.json(), r.headers["ETag"]
                async with http.get(base + "/api/messages", headers={"If-None-Match": etag}) as r:
                    assert r.status == 304 and await r.read() == b""
                async with http.get(base + "/api/messages", headers={"Host": "evil.example"}) as r:
                    assert r.status == 421  # the guard's host check covers it like every route
                async with http.post(base + "/api/scan", data=b"{") as r:  # no secret can grant the operator
                    assert r.status == 403 and await r.text() == ("Chưa đặt mật khẩu kỹ thuật viên (sohoa passwd) / "
                                                                  "No technician password is set (sohoa passwd)")
        finally:
            await runner.cleanup()
        return body

    body = asyncio.run(go())
    assert body["version"] == 1 and list(body["messages"]) == list(CATALOGUE)
    assert body["messages"]["scanner.paper_jam"] == CATALOGUE["scanner.paper_jam"].to_dict()
    assert body["messages"]["intake.image_page_damaged"]["vi"] == "Ảnh bị hỏng hoặc bị cắt cụt (trang {page})"
