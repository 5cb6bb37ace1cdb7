"""Text functions for ingestion: encoding detection, Japanese normalisation, PDF line repair.

- Encoding: UTF-8 (BOM allowed) first; otherwise charset-normalizer, asked first about the
  encodings Japanese files come in (CP932/Shift_JIS, EUC-JP, ISO-2022-JP, UTF-16/32; short
  Japanese texts are otherwise mistaken for Big5 or CP949), then about every encoding.
- NFKC "where safe": full-width ASCII becomes half-width, half-width katakana full-width, but
  characters whose compatibility form changes the meaning are kept (①, ㈱, ㎡, ², ½: "①10日"
  must not become "110日", "m²" not "m2").
- PDF line repair: a hard line break inside a sentence is removed (Japanese needs no space;
  two Latin words get one); breaks after a sentence end, before a list marker or around a
  heading-like line stay.

Example: ``text, enc = decode_text(Path("notice.txt").read_bytes())``
"""

from __future__ import annotations

import re
import unicodedata

JAPANESE_ENCODINGS = ["utf_8", "cp932", "euc_jp", "iso2022_jp", "utf_16", "utf_32"]

# Compatibility characters whose NFKC form loses meaning: kept as they are.
_UNSAFE = (
    "\u00b2\u00b3\u00b9\u00bc-\u00be"  # superscripts, vulgar fractions
    "\u2070-\u209f"  # super/subscripts
    "\u2150-\u218f"  # number forms (Ⅰ, ⅓)
    "\u2460-\u24ff"  # circled/parenthesised digits and letters (①, ⑴, ⒜)
    "\u2776-\u2793"  # dingbat circled digits (❶)
    "\u3200-\u33ff"  # enclosed CJK (㈱, ㊤) and CJK compatibility (㎡, ㌔, ㍻)
)
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]+")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")

CJK = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60"
_CJK_GAP = re.compile(f"(?<=[{CJK}]) (?=[{CJK}])")
_CJK_CHAR = re.compile(f"[{CJK}]")
_CJK_WRAP = re.compile(f"(?<=[{CJK}])[ \t]*\n[ \t]*(?=[{CJK}])")

SENTENCE_END = "。！？!?"
CLOSERS = "」』）)】〕］]"
# A line that starts a new unit: list markers, numbered items, articles, brackets.
_STARTS_ITEM = re.compile(
    r"^(?:[・●○■□◆◇▼▽※\-*]|【|〔|［|第[0-9０-９一二三四五六七八九十]+[条章節項]|"
    r"[(（]?[0-9０-９一二三四五六七八九十]+[).）．.、]|[①-⑳])"
)


class UndecodableText(ValueError):
    """The bytes are not text in any encoding we can tell."""


def decode_text(raw: bytes) -> tuple[str, str]:
    """(text, encoding name) for the bytes of a text file; ``UndecodableText`` for binary data."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf_8_sig"
    if b"\x1b$B" in raw or b"\x1b$@" in raw:  # ISO-2022-JP (JIS) is 7-bit: valid UTF-8 but not meant as such
        try:
            return raw.decode("iso2022_jp"), "iso2022_jp"
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), "utf_8"
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        from bench.errors import MissingDependencyError

        raise MissingDependencyError("charset-normalizer", "ingest", "Reading text that is not UTF-8") from None

    best = from_bytes(raw, cp_isolation=JAPANESE_ENCODINGS).best()
    if best is None and b"\x00" not in raw:
        best = from_bytes(raw).best()
    if best is None:
        raise UndecodableText("not text in any known encoding (a binary file?)")
    return str(best), best.encoding


def nfkc_safe(text: str) -> str:
    """NFKC on every run of characters, except the compatibility characters listed in ``_UNSAFE``."""
    out: list[str] = []
    pos = 0
    for m in _UNSAFE_RE.finditer(text):
        out.append(unicodedata.normalize("NFKC", text[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(unicodedata.normalize("NFKC", text[pos:]))
    return "".join(out)


def normalize(text: str) -> str:
    """NFKC where safe, unified newlines, no zero-width characters, single spaces, trimmed lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ZERO_WIDTH.sub("", text)
    text = nfkc_safe(text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def is_heading_line(line: str, max_chars: int = 40) -> bool:
    """A short line without sentence-final punctuation that looks like a title: 【…】, ■…, 第1章…, 1. …"""
    s = line.strip()
    if not s or len(s) > max_chars or s[-1] in SENTENCE_END + "、,":
        return False
    if s.startswith("【") and s.endswith("】"):
        return True
    return bool(re.match(r"^(?:[■□◆◇●▼]|第[0-9一二三四五六七八九十]+[章節]|[0-9]{1,2}[.．] )", s))


def _ends_unit(line: str) -> bool:
    s = line.rstrip(CLOSERS)
    return not s or s[-1] in SENTENCE_END + ":：" or line.endswith("】")


def remove_cjk_gaps(text: str) -> str:
    """Undo PDF letter-spacing ("み な と 市"): on a line where most CJK characters are followed by a
    single space, drop the spaces between CJK characters; real word spaces elsewhere stay."""
    out: list[str] = []
    for line in text.split("\n"):
        gaps = len(_CJK_GAP.findall(line))
        cjk = len(_CJK_CHAR.findall(line))
        out.append(_CJK_GAP.sub("", line) if gaps >= 3 and gaps * 2 >= cjk else line)
    return "\n".join(out)


def join_wrapped_cjk(text: str) -> str:
    """Remove source line breaks (and their indentation) between two CJK characters, as browsers do."""
    return _CJK_WRAP.sub("", text)


def repair_pdf_lines(text: str) -> str:
    """Join lines that a PDF broke inside a sentence; remove spaces a PDF put between CJK characters."""
    text = remove_cjk_gaps(text)
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        s = line.strip()
        if not s:
            out.append("")
            continue
        if out and out[-1] and not _ends_unit(out[-1]) and not _STARTS_ITEM.match(s) \
                and not is_heading_line(out[-1]) and not is_heading_line(s):
            prev = out[-1]
            glue = " " if prev[-1].isascii() and prev[-1].isalnum() and s[0].isascii() and s[0].isalnum() else ""
            out[-1] = prev + glue + s
        else:
            out.append(s)
    return "\n".join(out)
