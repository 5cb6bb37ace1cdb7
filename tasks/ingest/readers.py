"""Readers of .txt, .md, .html/.htm, .docx and .pdf files into blocks (headings and paragraphs).

Libraries, chosen for being well kept, pure Python or wheel-only, and for what Japanese needs:
- PDF: pypdf — pure Python, per-page text with CID/ToUnicode fonts (Japanese PDFs), tells
  encrypted files apart (``is_encrypted``, empty-password decryption for permission-only
  locks) and raises its own error types on damaged files; pdfminer.six gives finer layout
  control but is several times slower and has no clean encrypted/damaged distinction.
- DOCX: python-docx — paragraphs with their style (Heading 1…, 見出し 1…) and tables in
  document order.
- HTML: BeautifulSoup (beautifulsoup4) on lxml — forgiving with broken markup, and it finds the
  encoding from ``<meta charset>`` (Shift_JIS pages are common) before guessing.
- Markdown: markdown-it-py (already a dependency), whose tokens mark headings, paragraphs,
  list items and table cells.
- Plain text: ``tasks.ingest.text.decode_text`` (UTF-8, else charset-normalizer).

A file that cannot be read raises ``Unreadable`` with a short reason and a problem kind; the
caller records it and goes on.

Example: ``doc = read_document(Path("docs/notice.pdf"))``
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.errors import MissingDependencyError
from tasks.ingest.chunk import Block
from tasks.ingest.text import (
    UndecodableText,
    decode_text,
    is_heading_line,
    join_wrapped_cjk,
    normalize,
    repair_pdf_lines,
)

ProblemKind = Literal[
    "empty", "oversize", "encrypted", "corrupted", "scanned", "unsupported", "undecodable", "duplicate", "error"
]


def require(module: str, package: str) -> None:
    """Import check for an optional reader library: a missing one names the extra to install."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(package, "ingest", f"Reading documents with {package}")


# the libraries each file type needs (import name, package name): the ``ingest`` extra
NEEDS: dict[str, list[tuple[str, str]]] = {
    ".pdf": [("pypdf", "pypdf")], ".docx": [("docx", "python-docx")],
    ".html": [("bs4", "beautifulsoup4"), ("lxml", "lxml")], ".htm": [("bs4", "beautifulsoup4"), ("lxml", "lxml")],
    ".txt": [("charset_normalizer", "charset-normalizer")], ".text": [("charset_normalizer", "charset-normalizer")],
}


def check_readers(suffixes: set[str]) -> None:
    """Before reading a folder: every library its file types need is installed, else one error naming
    the missing packages and the extra (a folder of .md files needs none)."""
    import importlib.util

    missing: dict[str, list[str]] = {}
    for suffix in sorted(suffixes):
        for module, package in NEEDS.get(suffix, []):
            if importlib.util.find_spec(module) is None:
                missing.setdefault(package, []).append(suffix)
    if missing:
        kinds = sorted({s for v in missing.values() for s in v})
        raise MissingDependencyError(", ".join(missing), "ingest", f"Reading the {', '.join(kinds)} files")


class Unreadable(Exception):
    """A file that yields no usable text, with the reason shown to the user."""

    def __init__(self, kind: ProblemKind, reason: str) -> None:
        super().__init__(reason)
        self.kind: ProblemKind = kind
        self.reason = reason


@dataclass
class RawDocument:
    title: str
    blocks: list[Block]
    format: str
    pages: int | None = None
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)


def _paragraph_blocks(text: str, page: int | None = None) -> list[Block]:
    """Blank-line separated paragraphs of normalised text; heading-like lines become headings."""
    out: list[Block] = []
    for para in normalize(text).split("\n\n"):
        lines: list[str] = []
        for line in (ln for ln in para.split("\n") if ln.strip()):
            if is_heading_line(line):
                if lines:
                    out.append(Block("\n".join(lines), page=page))
                    lines = []
                out.append(Block(line, heading=True, page=page))
            else:
                lines.append(line)
        if lines:
            out.append(Block("\n".join(lines), page=page))
    return out


def _title(blocks: list[Block], fallback: str) -> str:
    for b in blocks:
        if b.heading:
            return b.text.strip("【】■□◆◇●▼ ")
    first = blocks[0].text.split("\n")[0] if blocks else ""
    return first if 0 < len(first) <= 60 else fallback


def read_txt(path: Path) -> RawDocument:
    try:
        text, enc = decode_text(path.read_bytes())
    except UndecodableText as e:
        raise Unreadable("undecodable", str(e)) from None
    blocks = _paragraph_blocks(text)
    if blocks and not blocks[0].heading and len(blocks[0].text) <= 60 and "\n" not in blocks[0].text:
        blocks[0] = Block(blocks[0].text, heading=True)
    return RawDocument(_title(blocks, path.stem), blocks, "txt", encoding=enc)


def read_md(path: Path) -> RawDocument:
    from markdown_it import MarkdownIt

    try:
        text, enc = decode_text(path.read_bytes())
    except UndecodableText as e:
        raise Unreadable("undecodable", str(e)) from None
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks: list[Block] = []
    in_heading = False
    row: list[str] = []
    for tok in tokens:
        if tok.type == "heading_open":
            in_heading = True
        elif tok.type == "heading_close":
            in_heading = False
        elif tok.type == "tr_close":
            blocks.append(Block(normalize(" | ".join(row))))
            row = []
        elif tok.type == "inline":
            content = normalize(tok.content.replace("**", "").replace("`", ""))
            if not content:
                continue
            if tok.level >= 3 and _inside_table(tokens, tok):
                row.append(content)
            else:
                blocks.append(Block(content, heading=in_heading))
        elif tok.type in ("fence", "code_block") and tok.content.strip():
            blocks.append(Block(normalize(tok.content)))
    return RawDocument(_title(blocks, path.stem), blocks, "md", encoding=enc)


def _inside_table(tokens: list[Any], tok: Any) -> bool:
    i = tokens.index(tok)
    return i > 0 and tokens[i - 1].type in ("th_open", "td_open")


_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP = {"script", "style", "noscript", "template", "nav", "svg", "head"}
_BLOCK = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr",
    "pre", "blockquote", "address", "figure", "figcaption", "caption", "header", "footer", "aside",
}


def read_html(path: Path) -> RawDocument:
    require("bs4", "beautifulsoup4")
    require("lxml", "lxml")
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, Tag

    soup = BeautifulSoup(path.read_bytes(), "lxml")
    blocks: list[Block] = []
    buf: list[str] = []

    def flush() -> None:
        text = join_wrapped_cjk("".join(buf)).replace("\n", " ").replace("\x00", "\n")
        blocks.extend(_paragraph_blocks(text))
        buf.clear()

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:  # not comments, CDATA, doctype
                    buf.append(str(child))
            elif isinstance(child, Tag):
                name = child.name.lower()
                if name in _SKIP:
                    continue
                if name in _HEADINGS:
                    flush()
                    text = normalize(child.get_text(" ", strip=True))
                    if text:
                        blocks.append(Block(text, heading=True))
                elif name == "br":
                    buf.append("\x00")
                elif name in ("td", "th"):
                    walk(child)
                    buf.append(" | ")
                elif name in _BLOCK:
                    flush()
                    walk(child)
                    if name == "tr" and buf:
                        buf[-1] = buf[-1].removesuffix(" | ")
                    flush()
                else:
                    walk(child)

    walk(soup.body or soup)
    flush()
    h1 = soup.find("h1")
    title_tag = h1 or soup.find("title")  # <title> often carries the site's name too
    title = normalize(title_tag.get_text(" ", strip=True)) if title_tag else ""
    enc = soup.original_encoding
    return RawDocument(title or _title(blocks, path.stem), blocks, "html", encoding=enc)


def read_docx(path: Path) -> RawDocument:
    require("docx", "python-docx")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    head = path.read_bytes()[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise Unreadable("encrypted", "password-protected (encrypted) .docx, or an old binary .doc file")
    try:
        d = docx.Document(str(path))
    except Exception as e:  # python-docx raises zipfile, KeyError and lxml errors on damaged files
        raise Unreadable("corrupted", f"not a readable .docx ({type(e).__name__}: {e})") from None
    blocks: list[Block] = []
    for item in d.iter_inner_content():
        if isinstance(item, Paragraph):
            text = normalize(item.text)
            style = (item.style.name if item.style is not None else "") or ""
            heading = style.startswith(("Heading", "Title", "見出し", "表題"))
            if text:
                blocks.append(Block(text, heading=heading))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [normalize(c.text) for c in row.cells]
                uniq = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]
                if uniq:
                    blocks.append(Block(" | ".join(uniq)))
    title = normalize(d.core_properties.title or "")
    return RawDocument(title or _title(blocks, path.stem), blocks, "docx")


def read_pdf(path: Path) -> RawDocument:
    require("pypdf", "pypdf")
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except (FileNotDecryptedError, NotImplementedError) as e:
                raise Unreadable("encrypted", f"encrypted PDF ({e})") from None
            if not ok:
                raise Unreadable("encrypted", "encrypted PDF (password-protected; save an unprotected copy)")
        texts = [page.extract_text() or "" for page in reader.pages]
    except Unreadable:
        raise
    except FileNotDecryptedError:
        raise Unreadable("encrypted", "encrypted PDF (password-protected; save an unprotected copy)") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
        raise Unreadable("corrupted", f"damaged PDF ({type(e).__name__}: {e})") from None
    if not texts:
        raise Unreadable("corrupted", "PDF without pages")
    blocks: list[Block] = []
    empty: list[int] = []
    for n, text in enumerate(texts, start=1):
        page_blocks = _paragraph_blocks(repair_pdf_lines(normalize(text)), page=n)
        if not page_blocks:
            empty.append(n)
        blocks.extend(page_blocks)
    if not blocks:
        raise Unreadable("scanned", f"no text layer on any of {len(texts)} page(s) (a scan? run OCR first)")
    warnings = [f"no text on page(s) {empty} (scanned pages? they were skipped)"] if empty else []
    meta_title = ""
    try:
        meta_title = normalize(str(reader.metadata.title or "")) if reader.metadata else ""
    except (PyPdfError, ValueError, KeyError, TypeError):
        pass
    return RawDocument(meta_title or _title(blocks, path.stem), blocks, "pdf", pages=len(texts), warnings=warnings)


READERS: dict[str, Callable[[Path], RawDocument]] = {
    ".txt": read_txt, ".text": read_txt, ".md": read_md, ".markdown": read_md,
    ".html": read_html, ".htm": read_html, ".docx": read_docx, ".pdf": read_pdf,
}


def read_document(path: Path) -> RawDocument:
    """Read one file by its extension; ``Unreadable`` when it has no usable text."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise Unreadable("unsupported", f"unsupported file type '{path.suffix or path.name}' "
                         f"(supported: {', '.join(sorted(READERS))})")
    doc = reader(path)
    if doc.blocks and not doc.blocks[0].heading and doc.blocks[0].text == doc.title:
        doc.blocks[0] = Block(doc.title, heading=True, page=doc.blocks[0].page)  # a title line, not a passage
    if not any(b.text.strip() and not b.heading for b in doc.blocks):
        raise Unreadable("empty", "only headings, no body text" if doc.blocks else "no text in the file")
    return doc
