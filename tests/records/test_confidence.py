"""The field-confidence model (design §6.3): logistic fit, threshold choice, scoring."""

from __future__ import annotations

import random

from records import confidence


def test_logistic_fit_separates_right_from_wrong_values():
    rng = random.Random(7)
    rows, labels = [], []
    for _ in range(400):
        conf = rng.random()
        rows.append({"found": 1.0, "conf": conf})
        labels.append(rng.random() < conf ** 3)  # the surer tesseract, the likelier right
    bias, weights = confidence.fit_logistic(rows, labels)
    assert weights["conf"] > 2.0 and "found" not in weights
    model = {"x": {"bias": bias, "weights": weights}}
    assert confidence.score("x", {"found": 1, "conf": 0.95}, model) > confidence.score("x", {"found": 1, "conf": 0.2},
                                                                                        model)


def test_threshold_is_the_lowest_confidence_keeping_the_precision():
    confs = [0.99, 0.97, 0.95, 0.9, 0.8, 0.7]
    labels = [True, True, True, True, False, True]
    assert confidence.threshold_for(confs, labels, precision=0.99) == 0.9
    assert confidence.threshold_for(confs, labels, precision=0.8) == 0.7
    assert confidence.threshold_for([0.9], [False]) == 1.0  # nothing trustworthy: everything is held
    # a wrong value with the same confidence as a right one passes with it: the tie is judged whole
    assert confidence.threshold_for([0.99, 0.9, 0.9], [True, True, False], precision=0.9) == 0.99


def test_a_value_not_found_or_not_modelled_is_not_trusted():
    assert confidence.score("typeName", {"found": 0.0}, {}) == 0.0
    # no fitted model: tesseract's own confidence, discounted, stays below the cautious fallback threshold
    assert confidence.score("typeName", {"found": 1.0, "conf": 0.99}, {}) < confidence.FALLBACK_THRESHOLDS["typeName"]


def test_a_pocket_of_doubtful_values_is_not_let_through_by_the_sure_ones_above_it():
    confs = [0.99] * 200 + [0.8, 0.79, 0.78, 0.77]
    labels = [True] * 200 + [True, False, True, False]
    # 202 right of 204 is 99 %, but two of the four lowest are wrong: the band above 0.77 says so
    assert confidence.threshold_for(confs, labels, precision=0.99, band=4) == 0.8
    assert confidence.threshold_for(confs, labels, precision=0.99, band=0) == 0.77  # the overall rate alone
    assert confidence.threshold_for(confs, labels, precision=0.99, minimum=0.9) == 0.99
