"""A small HTML tree for asserting on rendered pages (the standard library's parser, no browser)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The element's text, whitespace collapsed."""
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return " ".join(" ".join(parts).split())

    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def find_all(
        self, tag: str | None = None, *, id: str | None = None, cls: str | None = None
    ) -> list[Element]:
        """Descendants with the tag, id and class given (each optional), in document order."""
        found: list[Element] = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if (
                (tag is None or child.tag == tag)
                and (id is None or child.attrs.get("id") == id)
                and (cls is None or cls in child.classes())
            ):
                found.append(child)
            found.extend(child.find_all(tag, id=id, cls=cls))
        return found

    def one(self, tag: str | None = None, *, id: str | None = None, cls: str | None = None) -> Element:
        """The one descendant that matches; an assertion error if there is none or several."""
        found = self.find_all(tag, id=id, cls=cls)
        assert len(found) == 1, f"{len(found)} elements match {tag} id={id} class={cls}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Element:
    """The document as a tree of elements.

    >>> parse_html('<p id="a">one <b>two</b></p>').one("p", id="a").text
    'one two'
    """
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root
