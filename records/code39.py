"""Code 39 for the PATCHT document-separator sheet: draw it and find it.

Only what a separator needs: a start/stop-delimited Code 39 symbol read along
image rows and columns. Each character is nine elements (bar, space, ...),
three of them wide.
"""

from __future__ import annotations

import types

import numpy as np

# Wide (w) / narrow (n) elements, bar first, per character (the standard table).
_TABLE = types.MappingProxyType({
    "0": "nnnwwnwnn", "1": "wnnwnnnnw", "2": "nnwwnnnnw", "3": "wnwwnnnnn", "4": "nnnwwnnnw",
    "5": "wnnwwnnnn", "6": "nnwwwnnnn", "7": "nnnwnnwnw", "8": "wnnwnnwnn", "9": "nnwwnnwnn",
    "A": "wnnnnwnnw", "B": "nnwnnwnnw", "C": "wnwnnwnnn", "D": "nnnnwwnnw", "E": "wnnnwwnnn",
    "F": "nnwnwwnnn", "G": "nnnnnwwnw", "H": "wnnnnwwnn", "I": "nnwnnwwnn", "J": "nnnnwwwnn",
    "K": "wnnnnnnww", "L": "nnwnnnnww", "M": "wnwnnnnwn", "N": "nnnnwnnww", "O": "wnnnwnnwn",
    "P": "nnwnwnnwn", "Q": "nnnnnnwww", "R": "wnnnnnwwn", "S": "nnwnnnwwn", "T": "nnnnwnwwn",
    "U": "wwnnnnnnw", "V": "nwwnnnnnw", "W": "wwwnnnnnn", "X": "nwnnwnnnw", "Y": "wwnnwnnnn",
    "Z": "nwwnwnnnn", "-": "nwnnnnwnw", ".": "wwnnnnwnn", " ": "nwwnnnwnn", "*": "nwnnwnwnn",
})
_DECODE = types.MappingProxyType({v: k for k, v in _TABLE.items()})


def modules(text: str, ratio: int = 3) -> list[int]:
    """Module widths (alternating bar/space, bar first) for ``*text*``.

    Raises
    ------
    ValueError
        If *text* holds a character Code 39 cannot encode.
    """
    out: list[int] = []
    for i, ch in enumerate(f"*{text.upper()}*"):
        if ch not in _TABLE:
            raise ValueError(f"Code 39 cannot encode {ch!r}")
        if i:
            out.append(1)  # inter-character gap, a narrow space
        out.extend(ratio if e == "w" else 1 for e in _TABLE[ch])
    return out


def _runs(line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run lengths and values of a boolean line (True = dark)."""
    change = np.flatnonzero(np.diff(line.astype(np.int8))) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [line.size])))
    return lengths, line[starts]


def _decode_runs(lengths: np.ndarray, dark: np.ndarray) -> list[str]:
    found = []
    n = lengths.size
    i = 0
    while i + 9 <= n:
        if not dark[i]:
            i += 1
            continue
        chars = []
        j = i
        while j + 9 <= n:
            seg = lengths[j:j + 9]
            if not dark[j]:
                break
            lo, hi = seg.min(), seg.max()
            if hi < 1.8 * lo:
                break
            cut = (lo + hi) / 2.0
            code = "".join("w" if s > cut else "n" for s in seg)
            ch = _DECODE.get(code)
            if ch is None:
                break
            chars.append(ch)
            # the gap after a character must be narrow-ish
            if j + 9 < n and lengths[j + 9] > 1.6 * hi:
                j += 10
                break
            j += 10
        text = "".join(chars)
        if len(text) >= 3 and text[0] == "*" and text[-1] == "*":
            found.append(text[1:-1])
            i = j
        else:
            i += 1
    return found


def find_codes(gray: np.ndarray, lines: int = 40) -> set[str]:
    """Code 39 texts found along *lines* rows and columns of a gray image."""
    if gray.ndim != 2:
        raise ValueError("expected a 2-D gray image")
    dark = gray < 128
    out: set[str] = set()
    for axis_img in (dark, dark.T):
        rows = np.linspace(0, axis_img.shape[0] - 1, lines).astype(int)
        for r in rows:
            line = axis_img[r]
            if not line.any():
                continue
            lengths, vals = _runs(line)
            out.update(_decode_runs(lengths, vals))
            out.update(_decode_runs(lengths[::-1].copy(), vals[::-1].copy()))
    return out
