"""Message catalogues: what people read, Vietnamese first, one TOML file per program (docs/design.md §1.1).

The station (``firmware_agent/messages.toml``) and the central server
(``central/messages.toml``) each load their own file with :func:`load`; this
module lives in ``sync`` because it is the one package both may import. A
catalogue is immutable once loaded, so a program keeps it as a module constant::

    CATALOGUE = load(Path(__file__).with_name("messages.toml"))
    CATALOGUE["scanner.paper_jam"].text          # 'Kẹt giấy / Paper jam'
    CATALOGUE["job.page_failed"].format(seq=3, job=7).vi
"""

from __future__ import annotations

import re
import string
import tomllib
import types
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

VERSION = 1
LEVELS = ("info", "warning", "error")
FIELDS = frozenset({"vi", "en", "level", "action_vi", "action_en"})
SEGMENT = re.compile(r"[a-z][a-z0-9_]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CatalogueError(ValueError):
    """A catalogue file that breaks the rules M1-M2 of design §1.1 (the message names the code)."""


def placeholders(template: str) -> frozenset[str]:
    """The value names a text uses (``{name}`` or ``{name:spec}``).

    Raises
    ------
    ValueError
        If the text is not a valid template, or names an attribute, an index, a
        positional field or a conversion (``!r``).
    """
    names = set()
    for _literal, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not _NAME.fullmatch(field) or conversion is not None or (spec and "{" in spec):
            raise ValueError(f"placeholder {{{field}}} must be a plain name")
        names.add(field)
    return frozenset(names)


@dataclass(frozen=True)
class Message:
    """One message of a catalogue, or the same filled with values (:meth:`format`)."""

    code: str
    vi: str
    en: str
    level: str = "info"
    action_vi: str = ""
    action_en: str = ""

    @property
    def text(self) -> str:
        """One line: ``'Vietnamese / English'``."""
        return f"{self.vi} / {self.en}"

    @property
    def names(self) -> frozenset[str]:
        """Every value name the message uses (texts and actions)."""
        return placeholders(self.vi) | placeholders(self.action_vi)

    def format(self, **values: object) -> Message:
        """The message with its placeholders filled (M3: exactly the names it uses).

        Raises
        ------
        ValueError
            If a name the message uses is missing from *values*, or *values* has one it does not use.
        """
        names = self.names
        if set(values) != names:
            missing, extra = sorted(names - set(values)), sorted(set(values) - names)
            raise ValueError(f"message {self.code}: missing values {missing}, unknown values {extra}")
        return replace(self, vi=self.vi.format_map(values), en=self.en.format_map(values),
                       action_vi=self.action_vi.format_map(values), action_en=self.action_en.format_map(values))

    def to_dict(self) -> dict:
        return {"code": self.code, "level": self.level, "vi": self.vi, "en": self.en, "text": self.text,
                "action_vi": self.action_vi, "action_en": self.action_en}


class Catalogue(Mapping):
    """An immutable mapping code -> :class:`Message`, in the file's order."""

    __slots__ = ("_messages", "source")

    def __init__(self, messages: Mapping[str, Message], source: str = "") -> None:
        object.__setattr__(self, "_messages", types.MappingProxyType(dict(messages)))
        object.__setattr__(self, "source", source)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a message catalogue is immutable")

    def __getitem__(self, code: str) -> Message:
        try:
            return self._messages[code]
        except KeyError:
            raise KeyError(f"no message {code!r} in {self.source or 'the catalogue'}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._messages)

    def __len__(self) -> int:
        return len(self._messages)

    def to_dict(self) -> dict:
        """The catalogue as JSON-ready data (``GET /api/messages``, M8)."""
        return {"version": VERSION, "messages": {code: m.to_dict() for code, m in self._messages.items()}}


def _message(code: str, table: dict, where: str) -> Message:
    unknown = set(table) - FIELDS
    if unknown:
        raise CatalogueError(f"{where}: {code}: unknown field(s) {sorted(unknown)} (a message holds no other table)")
    texts = {}
    for name in ("vi", "en", "action_vi", "action_en"):
        value = table.get(name, "")
        if not isinstance(value, str):
            raise CatalogueError(f"{where}: {code}.{name} must be a string")
        if unicodedata.normalize("NFC", value) != value:
            raise CatalogueError(f"{where}: {code}.{name} is not in Unicode NFC (re-save the file composed)")
        texts[name] = value
    for name in ("vi", "en"):
        if not texts[name].strip():
            raise CatalogueError(f"{where}: {code}.{name} is missing or empty")
    if bool(texts["action_vi"].strip()) != bool(texts["action_en"].strip()):
        raise CatalogueError(f"{where}: {code}: action_vi and action_en come together")
    level = table.get("level", "info")
    if level not in LEVELS:
        raise CatalogueError(f"{where}: {code}.level must be one of {', '.join(LEVELS)}, not {level!r}")
    for first, second in (("vi", "en"), ("action_vi", "action_en")):
        try:
            a, b = placeholders(texts[first]), placeholders(texts[second])
        except ValueError as exc:
            raise CatalogueError(f"{where}: {code}: {exc}") from None
        if a != b:
            raise CatalogueError(f"{where}: {code}: {first} names {sorted(a)} but {second} names {sorted(b)}")
    return Message(code, texts["vi"], texts["en"], level, texts["action_vi"], texts["action_en"])


def parse(text: str, source: str = "<catalogue>") -> Catalogue:
    """A catalogue from the text of a TOML file.

    Raises
    ------
    CatalogueError
        If the text is not TOML, has another version, or breaks rules M1-M2.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{source}: {exc}") from None
    if data.pop("version", None) != VERSION:
        raise CatalogueError(f"{source}: needs 'version = {VERSION}' at the top")
    messages: dict[str, Message] = {}

    def walk(prefix: tuple[str, ...], table: dict) -> None:
        for key, value in table.items():
            if not SEGMENT.fullmatch(key):
                raise CatalogueError(f"{source}: {'.'.join((*prefix, key))}: a code segment is [a-z][a-z0-9_]*")
            if not isinstance(value, dict):
                raise CatalogueError(f"{source}: {'.'.join((*prefix, key))} is not a table (field outside a message?)")
            path = (*prefix, key)
            if "vi" in value:
                if len(path) < 2:
                    raise CatalogueError(f"{source}: {key}: a code has an area and a name (area.name)")
                messages[".".join(path)] = _message(".".join(path), value, source)
            else:
                walk(path, value)

    walk((), data)
    return Catalogue(messages, source)


def load(path: str | Path) -> Catalogue:
    """Read and check one catalogue file (see :func:`parse`)."""
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), str(path))
