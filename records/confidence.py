"""Confidences that mean something: P(value is right) from the features of how it was found (design §6.3).

Each field's confidence is a logistic function of the features
:mod:`records.metadata` measured for its value. The weights are fitted offline
on a generated corpus whose truth is known (``python -m eval.calibrate``, on a
seed other than the one the evaluation reports on) and shipped in
``confidence.json`` beside this file with the default thresholds: the lowest
confidence at which the fitting corpus' values were right at least 99 % of the
time. Nothing is fitted at run time. Without a fitted model for a field the
confidence is tesseract's mean word confidence when the value sits in its
place, else 0 (held: a value nobody has measured is not trusted).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources

import numpy as np

VERSION = 1
# A value a rule of extraction doubts (feature "doubt" = 1: two reads of its line disagree, a place
# not on the list of administrative units, a date found outside its places) is never trusted,
# whatever the model says: the fitting corpora hold too few such values for the model to learn
# how rarely they are right, and a wrong value let through costs more than a confirmation.
DOUBT = "doubt"
DOUBT_CAP = 0.5
FALLBACK_THRESHOLDS = {"typeName": 0.9, "codeNumber": 0.9, "codeNotation": 0.9, "issuedDate": 0.9,
                       "organName": 0.9, "subject": 0.9}


@lru_cache(maxsize=1)
def model() -> dict:
    """The shipped model: ``{"version": 1, "fields": {name: {"bias", "weights", "threshold"}}}``."""
    try:
        data = json.loads(resources.files("records").joinpath("confidence.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": VERSION, "fields": {}}
    if data.get("version") != VERSION:
        raise ValueError(f"confidence.json: version {data.get('version')!r} is not {VERSION}")
    return data


def default_thresholds() -> dict:
    """Per field, the threshold fitted with the model (or a cautious fallback)."""
    out = dict(FALLBACK_THRESHOLDS)
    for name, m in model()["fields"].items():
        out[name] = m["threshold"]
    return out


def score(name: str, features: dict, fitted: dict | None = None) -> float:
    """P(right) for a value of field *name* with *features* (0 for a value not found)."""
    m = (fitted if fitted is not None else model()["fields"]).get(name)
    if not features.get("found"):
        # an empty value: only a fitted model knows how often "nothing there" is right
        if m is None or "empty_bias" not in m:
            return 0.0
        z = m["empty_bias"] + sum(w * float(features.get(k, 0.0)) for k, w in m.get("empty_weights", {}).items())
        return round(_sigmoid(z), 3)
    cap = DOUBT_CAP if features.get(DOUBT) else 1.0
    if m is None:
        return round(min(cap, float(features.get("conf", 0.0)) * 0.9), 3)
    z = m["bias"] + sum(w * float(features.get(k, 0.0)) for k, w in m["weights"].items())
    return round(min(cap, _sigmoid(z)), 3)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def fit_logistic(rows: list[dict], labels: list[bool], l2: float = 1.0) -> tuple[float, dict]:
    """(bias, weights) of an L2-regularised logistic regression, by Newton's method (numpy only)."""
    keys = sorted({k for r in rows for k in r if k not in ("found", DOUBT)})
    if not rows:
        return 0.0, {}
    x = np.array([[float(r.get(k, 0.0)) for k in keys] for r in rows], dtype=np.float64)
    x = np.hstack([np.ones((len(rows), 1)), x])
    y = np.array(labels, dtype=np.float64)
    w = np.zeros(x.shape[1])
    reg = np.eye(x.shape[1]) * l2
    reg[0, 0] = 1e-6  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
        grad = x.T @ (p - y) + reg @ w
        hess = (x.T * (p * (1 - p))) @ x + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), {k: float(v) for k, v in zip(keys, w[1:])}


def threshold_for(confidences: list[float], labels: list[bool], precision: float = 0.99,
                  minimum: float = 0.5, band: int = 20, band_precision: float | None = None) -> float:
    """The lowest confidence t (>= *minimum*) at which values with confidence >= t are right >= *precision*.

    The *band* values just above t must also be right >= *band_precision* of the time: a
    pocket of doubtful values is not let through on the strength of the many sure ones
    above it (the overall rate alone would admit a few wrong values at the bottom).
    *band_precision* defaults to *precision* less 0.04.
    """
    local = precision - 0.04 if band_precision is None else band_precision
    pairs = sorted(zip(confidences, labels), key=lambda p: p[0], reverse=True)
    best = 1.0
    right = 0
    for n, (c, ok) in enumerate(pairs, 1):
        right += ok
        if n < len(pairs) and pairs[n][0] == c:
            continue  # a threshold passes every value of equal confidence: judge the whole tie
        near = pairs[max(0, n - band):n]
        if right / n >= precision and c >= minimum and sum(o for _c, o in near) >= local * len(near):
            best = c
    return round(best, 3)
