"""Classification of a document from its first page, driven by a rules table.

The table (``rules.tsv`` shipped here, plus a technician's own file) maps title
words to a TT 05/2025 typeName code and a priority group; keyword rows vote for
the group. Matching is accent-insensitive and tolerates OCR character errors
(docs/design.md §6.3). Nothing is decided in code branches per document type.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from records.codes import GROUPS, TYPE_NAME
from records.text import fold, fuzzy_score

HEADER = ("pattern", "type_code", "group", "weight", "label")


class RulesError(ValueError):
    """A rules table that cannot be used; the message names file and line."""


@dataclass(frozen=True)
class Rule:
    pattern: str
    type_code: str   # "01".."32", or "*" for a group keyword
    group: str       # one of GROUPS, or "*" (take it from keywords)
    weight: float
    label: str
    folded: str


@dataclass(frozen=True)
class Classification:
    type_code: str
    type_conf: float
    group: str
    group_conf: float
    label: str
    title_line: int  # index of the matched title line in the page's lines, -1 if none


def parse_rules(text: str, source: str = "rules") -> list[Rule]:
    """Parse a rules table; raises :class:`RulesError` naming the line."""
    rules: list[Rule] = []
    header_seen = False
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cols = next(csv.reader([raw], delimiter="\t", quoting=csv.QUOTE_NONE))
        if not header_seen:
            if tuple(c.strip() for c in cols) != HEADER:
                raise RulesError(f"{source}:{n}: header must be {' / '.join(HEADER)} (tab-separated)")
            header_seen = True
            continue
        if len(cols) != 5:
            raise RulesError(f"{source}:{n}: expected 5 tab-separated columns, got {len(cols)}")
        pattern, code, group, weight, label = (c.strip() for c in cols)
        if code != "*" and code not in TYPE_NAME:
            raise RulesError(f"{source}:{n}: type_code {code!r} is not 01..32 or *")
        if group != "*" and group not in GROUPS:
            raise RulesError(f"{source}:{n}: group {group!r} is not one of {', '.join(GROUPS)} or *")
        if code == "*" and group == "*":
            raise RulesError(f"{source}:{n}: a keyword row needs a group")
        try:
            w = float(weight)
        except ValueError:
            raise RulesError(f"{source}:{n}: weight {weight!r} is not a number") from None
        if not 0.0 <= w <= 1.0 or not fold(pattern):
            raise RulesError(f"{source}:{n}: weight must be 0..1 and pattern non-empty")
        rules.append(Rule(pattern, code, group, w, label or pattern, fold(pattern)))
    if not header_seen:
        raise RulesError(f"{source}: empty rules table")
    return rules


def load_rules(extra: str | Path | None = None) -> list[Rule]:
    """The shipped rules followed by a technician's file (if *extra* is set)."""
    shipped = resources.files("records").joinpath("rules.tsv").read_text(encoding="utf-8")
    rules = parse_rules(shipped, "rules.tsv")
    if extra:
        path = Path(extra)
        try:
            rules += parse_rules(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise RulesError(f"{path}: cannot read rules file: {exc.strerror}") from None
    return rules


def _upper_ratio(line: str) -> float:
    letters = [c for c in line if c.isalpha()]
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


def classify(lines: list[str], rules: list[Rule], title_zone: float = 0.45) -> Classification:
    """TypeName and group of a document from its first page's OCR lines.

    Title rows are scored on the first *title_zone* of the lines: fuzzy match x
    how upper-case the line is (titles are printed in capitals) x how much of the
    line the pattern covers. Confidence drops when a different type scores close.
    """
    zone = lines[:max(8, int(len(lines) * title_zone) + 1)]
    folded_zone = [fold(x) for x in zone]
    scored: list[tuple[float, float, int, Rule, int, int]] = []
    for order, rule in enumerate(rules):
        if rule.type_code == "*":
            continue
        best, best_i = 0.0, -1
        for i, (line, fl) in enumerate(zip(zone, folded_zone)):
            if not fl:
                continue
            m = fuzzy_score(rule.folded, fl)
            if m < 0.7:
                continue
            coverage = min(1.0, len(rule.folded) / max(len(fl), 1))
            s = m * (0.5 + 0.5 * _upper_ratio(line)) * (0.75 + 0.25 * coverage)
            if s > best:
                best, best_i = s, i
        if best > 0:
            scored.append((best, rule.weight, len(rule.folded), rule, best_i, order))
    # later rows (a technician's file) win ties over the shipped ones
    scored.sort(key=lambda t: (round(t[0] + 0.05 * t[1], 6), t[2], t[5]), reverse=True)
    if scored:
        top = scored[0]
        rival = next((s for s in scored[1:] if s[3].type_code != top[3].type_code), None)
        conf = top[0] if rival is None else top[0] * min(1.0, 0.6 + 2.0 * (top[0] - rival[0]))
        type_code, label, title_i, title_group = top[3].type_code, top[3].label, top[4], top[3].group
    else:
        conf, type_code, label, title_i, title_group = 0.0, "32", "Khác", -1, "*"
    group, gconf = _group(lines, rules)
    if title_group != "*":
        group, gconf = title_group, max(conf, gconf)
    return Classification(type_code, round(conf, 3), group, round(gconf, 3), label, title_i)


def _group(lines: list[str], rules: list[Rule]) -> tuple[str, float]:
    text = fold(" ".join(lines))
    votes: dict[str, float] = {}
    for rule in rules:
        if rule.type_code != "*":
            continue
        if rule.folded in text:
            votes[rule.group] = votes.get(rule.group, 0.0) + rule.weight
    if not votes:
        return "other", 0.3
    ranked = sorted(votes.items(), key=lambda kv: kv[1], reverse=True)
    best, score = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    return best, round(min(1.0, 0.5 + 0.5 * (score - second)), 3)
