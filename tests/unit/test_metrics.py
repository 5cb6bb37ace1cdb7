from __future__ import annotations

import pytest

from bench.judges.metrics import char_f1, choice_accuracy, exact_match, set_f1


def test_exact_match_normalises_nfkc_and_space() -> None:
    assert exact_match("１４日以内 ", "14日以内") == 1.0
    assert exact_match("14日", "14日以内") == 0.0


def test_char_f1_is_token_sort_ratio_over_100() -> None:
    assert char_f1("市民課", "市民課") == 1.0
    assert char_f1("", "市民課") == 0.0
    # token_sort_ratio sorts whitespace tokens: word order does not matter
    assert char_f1("b a", "a b") == 1.0
    v = char_f1("14日", "14日以内")
    assert 0.0 < v < 1.0
    # Indel ratio: 2 * matches / (len1 + len2) = 2*3 / (3+5)
    assert v == pytest.approx(0.75)


def test_set_f1_over_lines_with_duplicates_removed() -> None:
    ref = "住民票\n印鑑\n通帳"
    assert set_f1("住民票\n印鑑\n通帳", ref) == 1.0
    assert set_f1("住民票\n住民票", ref) == pytest.approx(2 * 1.0 * (1 / 3) / (1 + 1 / 3))
    assert set_f1("", ref) == 0.0
    assert set_f1("まったく違う", ref) == 0.0


def test_choice_accuracy_takes_first_label() -> None:
    assert choice_accuracy("3", "3") == 1.0
    assert choice_accuracy(" ３です", "3") == 1.0
    assert choice_accuracy("2 or 3", "3") == 0.0
    assert choice_accuracy("わからない", "3") == 0.0
