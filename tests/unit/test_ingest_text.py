"""Ingestion text functions and the chunker on Japanese text."""

from __future__ import annotations

import pytest

from tasks.ingest.chunk import Block, sentences, split_passages
from tasks.ingest.text import UndecodableText, decode_text, nfkc_safe, normalize, repair_pdf_lines

JA = "みなと市では、資源物の集団回収を行う団体に奨励金を交付します。対象は古紙、布類、アルミ缶です。"


@pytest.mark.parametrize("enc", ["cp932", "euc_jp", "iso2022_jp", "utf_16"])
def test_decode_japanese_encodings(enc: str) -> None:
    text, got = decode_text(JA.encode(enc))
    assert text == JA
    assert got.replace("-", "_").lower() in {enc, "shift_jis", "cp932", "euc_jis_2004", "utf_16"}


def test_decode_short_shift_jis_is_not_mistaken_for_chinese() -> None:
    assert decode_text("奨励金".encode("cp932"))[0] == "奨励金"


def test_decode_utf8_with_bom_and_binary() -> None:
    assert decode_text("\ufeff本文".encode())[0] == "本文"
    with pytest.raises(UndecodableText):
        decode_text(b"\x00\x01\x02\xff\xfe\x00\x9f" * 100)


def test_nfkc_where_safe() -> None:
    assert nfkc_safe("ＡＢＣ１２３（ｶﾞｲﾄﾞ）") == "ABC123(ガイド)"
    # compatibility characters whose NFKC form changes the meaning stay
    assert nfkc_safe("①10日、面積50㎡、m²、㈱みなと") == "①10日、面積50㎡、m²、㈱みなと"
    assert normalize("  本文\u200bです。\r\n\r\n次　の行  ") == "本文です。\n\n次 の行"


def test_pdf_line_repair_joins_broken_sentences_only() -> None:
    raw = (
        "【受診方法】\n受診券に同封の一覧から医療機関を選び、電話で\n予約してください。\n"
        "・当日は受診券を持参\nしてください。\nThe quick brown\nfox jumps."
    )
    assert repair_pdf_lines(raw) == (
        "【受診方法】\n受診券に同封の一覧から医療機関を選び、電話で予約してください。\n"
        "・当日は受診券を持参してください。\nThe quick brown fox jumps."
    )
    # letter-spaced PDF text loses its spaces; real word spaces stay
    assert repair_pdf_lines("み な と 市 の 案 内") == "みなと市の案内"
    assert repair_pdf_lines("みなと市 保険年金課 電話") == "みなと市 保険年金課 電話"


def test_sentences_keep_closing_brackets() -> None:
    assert sentences("「申込みは不要です。」と書かれています！本当ですか？はい") == [
        "「申込みは不要です。」", "と書かれています！", "本当ですか？", "はい",
    ]


def test_chunker_cuts_at_headings_and_sentence_ends_within_the_limit() -> None:
    para = "".join(f"これは{i}番目の文で、内容を説明しています。" for i in range(30))
    blocks = [
        Block("対象", heading=True, page=1), Block("市内に住む方が対象です。", page=1),
        Block("申込方法", heading=True, page=2), Block(para, page=2), Block("以上です。", page=3),
    ]
    pieces = split_passages(blocks, max_chars=120)
    assert pieces[0].text == "対象\n市内に住む方が対象です。" and pieces[0].page == 1
    rest = pieces[1:]
    assert all(p.text.startswith("申込方法\n") for p in rest)
    assert all(len(p.text) <= 120 for p in pieces)
    assert all(p.text.endswith("。") for p in rest)  # cut at sentence ends
    body = "".join(p.text.removeprefix("申込方法\n").replace("\n", "") for p in rest)
    assert body == para + "以上です。"  # nothing lost or repeated
    assert rest[0].page == 2 and rest[-1].page in (2, 3)


def test_chunker_hard_cuts_a_sentence_longer_than_the_limit() -> None:
    long = "あ" * 50 + "、" + "い" * 100 + "。"
    pieces = split_passages([Block(long)], max_chars=60)
    assert "".join(p.text for p in pieces) == long
    assert all(len(p.text) <= 60 for p in pieces)
    assert pieces[0].text.endswith("、")
    with pytest.raises(ValueError, match="at least 40"):
        split_passages([Block(long)], max_chars=10)
