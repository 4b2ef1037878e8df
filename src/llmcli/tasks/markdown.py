"""Markdown structure for translation: what to translate and what to keep as it is.

A document becomes a list of lines whose structure (blank lines, heading hashes, list
markers, quote markers, indentation, table pipes) is kept verbatim, and whose prose is
collected as *units* to translate. Fenced and indented code blocks, front matter,
horizontal rules, link definitions and HTML lines are kept whole. Inside prose,
*protected* spans (inline code, URLs, link targets, HTML tags) must come through
translation unchanged; see :func:`protected_spans`.

Consecutive prose lines of one paragraph (or one list item) form one unit, so the
translator sees whole sentences; the translation is written on the paragraph's first
line (still valid Markdown: a paragraph's line breaks are not significant).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^(\s{0,3}#{1,6}\s+)(.*?)(\s+#+\s*)?$")
_LIST = re.compile(r"^(\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?)(.*)$")
_QUOTE = re.compile(r"^(\s*(?:>\s?)+)(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_LINK_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_HTML_LINE = re.compile(r"^\s*<[^>]+>\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_PROTECTED = re.compile(
    r"(`+)(?:.+?)\1"  # inline code
    r"|\]\([^)\s]*(?:\s+\"[^\"]*\")?\)"  # link/image target ](url "title")
    r"|<(?:https?://|mailto:)[^>]+>"  # autolink
    r"|<[A-Za-z/][^>]*>"  # HTML tag
    r"|https?://[^\s)>\]]+"  # bare URL
)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass
class _Line:
    prefix: str = ""  # kept verbatim before the translation
    unit: int | None = None  # index of the unit translated into this line
    suffix: str = ""  # kept verbatim after it
    cells: list[int | str] = field(default_factory=list)  # table row: units or verbatim
    drop: bool = False  # a continuation line merged into the unit above


@dataclass
class Document:
    """A parsed document: its lines and the prose units to translate."""

    lines: list[_Line]
    units: list[str]
    trailing_newline: bool

    def render(self, translations: list[str]) -> str:
        """The document with every unit replaced by its translation."""
        out: list[str] = []
        for line in self.lines:
            if line.drop:
                continue
            if line.cells:
                parts = [c if isinstance(c, str) else f" {translations[c]} " for c in line.cells]
                out.append(line.prefix + "|".join(parts) + line.suffix)
            elif line.unit is None:
                out.append(line.prefix)
            else:
                out.append(line.prefix + translations[line.unit] + line.suffix)
        text = "\n".join(out)
        return text + "\n" if self.trailing_newline else text


def parse(text: str, markdown: bool = True) -> Document:
    """Split ``text`` into structure and prose units (plain paragraphs when not Markdown)."""
    return _Parser(text, markdown).parse()


class _Parser:
    def __init__(self, text: str, markdown: bool) -> None:
        normal = text.replace("\r\n", "\n")
        self.trailing = normal.endswith("\n")
        self.raw = normal[:-1].split("\n") if self.trailing else normal.split("\n")
        self.markdown = markdown
        self.lines: list[_Line] = []
        self.units: list[str] = []
        self.open: _Line | None = None  # the line whose unit a continuation line joins

    def add(self, prefix: str, body: str, suffix: str = "") -> _Line:
        self.units.append(body.strip())
        lead = body[: len(body) - len(body.lstrip())]
        line = _Line(prefix + lead, len(self.units) - 1, suffix)
        self.lines.append(line)
        return line

    def keep(self, raw_line: str) -> None:
        self.lines.append(_Line(raw_line))
        self.open = None

    def prose(self, raw_line: str) -> None:
        if self.open is not None and self.open.unit is not None:
            self.units[self.open.unit] += " " + raw_line.strip()
            self.lines.append(_Line(drop=True))
        else:
            self.open = self.add("", raw_line)

    def is_table(self, index: int) -> bool:
        line = self.raw[index].strip()
        if "|" not in line:
            return False
        if line.startswith("|") or _TABLE_SEPARATOR.match(line):
            return True
        following = self.raw[index + 1] if index + 1 < len(self.raw) else ""
        previous = self.raw[index - 1] if index > 0 else ""
        return bool(_TABLE_SEPARATOR.match(following) or _TABLE_SEPARATOR.match(previous))

    def parse(self) -> Document:
        fence: str | None = None
        raw = self.raw
        for index, raw_line in enumerate(raw):
            stripped = raw_line.strip()
            if fence is not None:
                self.keep(raw_line)
                if stripped.startswith(fence) and not stripped.strip(fence[0]):
                    fence = None
                continue
            if not stripped:
                self.keep(raw_line)
                continue
            if not self.markdown:
                self.prose(raw_line)
                continue
            fence_match = _FENCE.match(raw_line)
            if fence_match:
                fence = fence_match.group(1)
                self.keep(raw_line)
                continue
            if index == 0 and stripped == "---" and "---" in [r.strip() for r in raw[1:]]:
                fence = "---"  # YAML front matter: kept whole, like a code block
                self.keep(raw_line)
                continue
            indented = raw_line.startswith(("    ", "\t"))
            if (
                (indented and self.open is None and not _LIST.match(raw_line))
                or _RULE.match(raw_line)
                or _LINK_DEF.match(raw_line)
                or _HTML_LINE.match(raw_line)
            ):
                self.keep(raw_line)  # indented code, rules, link definitions, HTML
                continue
            if self.is_table(index):
                self.open = None
                if _TABLE_SEPARATOR.match(raw_line):
                    self.keep(raw_line)
                else:
                    self.lines.append(_table_row(raw_line, self.units))
                continue
            heading = _HEADING.match(raw_line)
            if heading:
                self.add(heading.group(1), heading.group(2), heading.group(3) or "")
                self.open = None
                continue
            quote = _QUOTE.match(raw_line)
            if quote:
                if self.open is not None and self.open.prefix.lstrip().startswith(">"):
                    self.prose(quote.group(2))
                else:
                    self.open = self.add(quote.group(1), quote.group(2))
                continue
            item = _LIST.match(raw_line)
            if item:
                self.open = self.add(item.group(1), item.group(2))
                continue
            self.prose(raw_line)
        return Document(self.lines, self.units, self.trailing)


def _table_row(raw_line: str, units: list[str]) -> _Line:
    stripped = raw_line.rstrip()
    lead = raw_line[: len(raw_line) - len(raw_line.lstrip())]
    body = stripped.strip()
    prefix = lead + ("|" if body.startswith("|") else "")
    suffix = "|" if body.endswith("|") and len(body) > 1 else ""
    inner = body[1 if prefix.endswith("|") else 0 : len(body) - len(suffix)]
    cells: list[int | str] = []
    for cell in inner.split("|"):
        if _LETTER.search(cell):
            units.append(cell.strip())
            cells.append(len(units) - 1)
        else:
            cells.append(cell)
    return _Line(prefix=prefix, suffix=suffix, cells=cells)


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` a translation must keep verbatim (code, URLs, link targets, tags)."""
    return [(m.start(), m.end()) for m in _PROTECTED.finditer(text)]


def has_words(text: str) -> bool:
    """Whether ``text`` has letters outside its protected spans (anything to translate)."""
    cursor = 0
    for start, end in protected_spans(text):
        if _LETTER.search(text[cursor:start]):
            return True
        cursor = end
    return bool(_LETTER.search(text[cursor:]))
