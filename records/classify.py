"""Classification of a document from its first page, driven by a rules table.

The table (``rules.tsv`` shipped here, plus a technician's own file) maps title
words to a TT 05/2025 typeName code and a priority group; keyword rows vote for
the group. Matching is accent-insensitive and tolerates OCR character errors
(docs/design.md §6.3). Nothing is decided in code branches per document type.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from records.codes import GROUPS, TYPE_NAME
from records.text import fold, word_substring_distance

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
    title_line: int  # index of the matched title line in the page's lines, -1 if none,
                     # -2 - k when it is the layout's title block k


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


def allowed_edits(pattern_folded: str) -> int:
    """Design §6.3: a pattern of n folded characters matches with at most floor(n/6) edits."""
    return len(pattern_folded) // 6


def title_match(rule: Rule, text: str) -> float:
    """1 - edits/len when *rule* occurs in *text*, as whole words, within its edit budget, else 0.

    The matched stretch starts and ends at word edges (design §6.3): a pattern may not
    end inside a word of the title, which let "GIẤY CHỨNG SINH" match the "GIẤY CHỨNG NH"
    of "GIẤY CHỨNG NHẬN" with two edits.
    """
    folded = fold(text)
    if not folded:
        return 0.0
    budget = allowed_edits(rule.folded)
    if len(folded) + budget < len(rule.folded):
        return 0.0
    if re.search(rf"(?<![A-Z0-9]){re.escape(rule.folded)}(?![A-Z0-9])", folded):
        return 1.0
    # each letter of the pattern the title lacks costs an edit: most rows stop here,
    # before the edit-distance table (the title is matched against every row)
    have = Counter(folded)
    if sum(max(0, n - have[c]) for c, n in Counter(rule.folded).items()) > budget:
        return 0.0
    d = word_substring_distance(rule.folded, folded)
    return 1.0 - d / len(rule.folded) if d <= allowed_edits(rule.folded) else 0.0


def score_titles(candidates: list[str], rules: list[Rule]) -> list[tuple[float, Rule, int]]:
    """(score, rule, candidate index) of every title row matching a candidate, best first.

    A candidate is a line or a block of title lines joined by a space; earlier
    candidates (higher on the page) win ties. Score: match x (0.5 + 0.5 x upper-case
    share) x (0.75 + 0.25 x share of the candidate the pattern covers).
    """
    scored: list[tuple[float, float, int, Rule, int, int]] = []
    for order, rule in enumerate(rules):
        if rule.type_code == "*":
            continue
        best, best_i = 0.0, -1
        for i, cand in enumerate(candidates):
            m = title_match(rule, cand)
            if m <= 0:
                continue
            coverage = min(1.0, len(rule.folded) / max(len(fold(cand)), 1))
            s = m * (0.5 + 0.5 * _upper_ratio(cand)) * (0.75 + 0.25 * coverage) - 0.002 * i
            if s > best:
                best, best_i = s, i
        if best > 0:
            scored.append((best, rule.weight, len(rule.folded), rule, best_i, order))
    # the most specific title wins: a row whose pattern lies inside a longer row's that matched
    # the same candidate ("GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT" in the land certificate's whole
    # title) is that longer row's prefix or part, not a rival reading
    scored = [t for t in scored if not any(
        o[4] == t[4] and len(o[3].folded) > len(t[3].folded) and f" {t[3].folded} " in f" {o[3].folded} "
        for o in scored)]
    # later rows (a technician's file) win ties over the shipped ones
    scored.sort(key=lambda t: (round(t[0] + 0.05 * t[1], 6), t[2], t[5]), reverse=True)
    return [(s[0], s[3], s[4]) for s in scored]


def classify(lines: list[str], rules: list[Rule], title_zone: float = 0.45,
             titles: list[str] | None = None) -> Classification:
    """TypeName and group of a document from its first page's OCR lines.

    *titles* are the title blocks the layout found (design §6.3 L6), tried first;
    without them (or when none matches) title rows are scored on the first
    *title_zone* of the lines. Confidence drops when a different type scores close.
    """
    scored = score_titles(titles, rules) if titles else []
    title_i = -1
    if scored:
        title_i = -2 - scored[0][2]  # a layout block, not a line: see Classification.title_line
    else:
        zone = lines[:max(8, int(len(lines) * title_zone) + 1)]
        scored = score_titles(zone, rules)
        if scored:
            title_i = scored[0][2]
    if scored:
        top = scored[0]
        # a rival is another kind: another code, or another label of the same code (32 has many)
        rival = next((s for s in scored[1:] if (s[1].type_code, fold(s[1].label))
                      != (top[1].type_code, fold(top[1].label))), None)
        conf = top[0] if rival is None else top[0] * min(1.0, 0.6 + 2.0 * (top[0] - rival[0]))
        type_code, label, title_group = top[1].type_code, top[1].label, top[1].group
    else:
        conf, type_code, label, title_group = 0.0, "32", "Khác", "*"
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
