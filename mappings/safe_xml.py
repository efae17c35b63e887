"""Parse untrusted XML (a SAD from customs, a permit from a partner) without letting it attack us.

A declaration never needs a DTD, so a document carrying one is refused outright rather than
parsed "safely": that closes entity expansion (billion laughs), external entities (XXE reading
``file:///etc/passwd`` or calling out to the network) and parameter-entity tricks in one rule,
as zeep's ``forbid_dtd`` does. The refusal happens in a probe that stops at the DOCTYPE, before
libxml2 reads a single entity declaration. Size is checked before any parsing (contract
section 1: ``Client.TooLarge``, default 5 MiB), and libxml2's own limits (``huge_tree=False``:
depth 256, text nodes of 10 MB) stay on.
"""

from __future__ import annotations

import re
import threading

from lxml import etree

from cites_connector.domain.errors import MalformedXml, TooLarge

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
#: a byte order mark, or an XML declaration naming an encoding: the document says its own
_SELF_DESCRIBED = re.compile(
    rb"(\xef\xbb\xbf|\xfe\xff|\xff\xfe)|[ \t\r\n]*<\?xml[^>]*?\sencoding[ \t\r\n]*="
)


def _hardened_parser(
    target: etree.ParserTarget | None = None, encoding: str | None = None
) -> etree.XMLParser:
    return etree.XMLParser(
        target=target,
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


#: parsers kept per thread and per transport charset (issue 14): a parser with a target costs
#: lxml a look at the target's methods each time it is made, more than the probe itself.
#: lxml parsers are reused for one document after another, never by two threads at once.
_parsers = threading.local()
#: transport charsets a thread keeps parsers for; others get parsers made for the one call
_KEPT_CHARSETS = 4


def _kept_parser(kind: str, encoding: str | None) -> etree.XMLParser:
    kept: dict[tuple[str, str | None], etree.XMLParser] | None = getattr(_parsers, "kept", None)
    if kept is None:
        kept = _parsers.kept = {}
    parser = kept.get((kind, encoding))
    if parser is None:
        target = _PrologProbe() if kind == "probe" else None
        parser = _hardened_parser(target=target, encoding=encoding)
        if len(kept) < 2 * _KEPT_CHARSETS:
            kept[kind, encoding] = parser
    return parser


def _forget_parser(kind: str, encoding: str | None) -> None:
    kept = getattr(_parsers, "kept", None)
    if kept is not None:
        kept.pop((kind, encoding), None)


class _DoctypeFound(Exception):
    pass


class _RootReached(Exception):
    pass


class _PrologProbe:
    """Parser target that stops at the first DOCTYPE or at the root's start tag."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _DoctypeFound(name)

    def start(self, tag: str | bytes, attrib: object, nsmap: object = None) -> None:
        raise _RootReached

    def end(self, tag: str | bytes) -> None:  # pragma: no cover - never reached past the root
        pass

    def data(self, data: str | bytes) -> None:
        pass

    def comment(self, text: str | bytes) -> None:
        pass

    def pi(self, target: str | bytes, data: str | bytes | None = None) -> None:
        pass

    def close(self) -> None:
        return None


def parse_xml(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, encoding: str | None = None
) -> etree._Element:
    """Parse ``data`` into its root element, refusing anything a SAD has no business carrying.

    Raises ``TooLarge`` over ``max_bytes`` (checked first, before any parsing), and
    ``MalformedXml`` for a DOCTYPE, an entity reference, bytes that do not fit the declared
    encoding (UTF-8 when none is declared, XML 1.0 section 4.3.3), or XML that is not
    well-formed (the message gives libxml2's line and column).

    ``encoding`` is the charset the transport named (HTTP ``Content-Type``). It is used only
    when the document names none itself (no byte order mark, no ``encoding`` in its XML
    declaration): a declaration travels with the bytes it describes, while gateways rewrite
    headers, so when both speak the document is believed (XML 1.0 appendix F).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_xml takes bytes, not {type(data).__name__}")
    size = len(data)
    if size > max_bytes:
        raise TooLarge(f"XML document is {size} bytes, over the limit of {max_bytes} bytes")
    data = bytes(data)
    if encoding is not None and _SELF_DESCRIBED.match(data):
        encoding = None
    try:
        _refuse_doctype(data, encoding)
        root = etree.fromstring(data, _kept_parser("tree", encoding))
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(_describe(exc)) from None
    except LookupError:
        raise MalformedXml(f"the character encoding {encoding!r} is not known") from None
    return ensure_safe_element(root)


def tag_of(node: etree._Element) -> object:
    """A node's tag as lxml gives it: text for an element, but the factory function
    (``etree.Comment``, ``etree.PI``, ``etree.Entity``) for a comment, processing instruction or
    entity reference, which lxml-stubs leave out of the type."""
    tag: object = node.tag
    return tag


def ensure_safe_element(element: object) -> etree._Element:
    """Check an element parsed elsewhere (the SOAP edge's envelope) by the same rules.

    The edge's parser is not ours, so this is the second line of defence: an internal DTD on
    the owning document, or an unexpanded entity node in the subtree, is refused.
    """
    if not isinstance(element, etree._Element) or not isinstance(tag_of(element), str):
        raise MalformedXml("expected an XML element")
    docinfo = element.getroottree().docinfo
    internal_dtd: etree.DTD | None = docinfo.internalDTD  # None without one (not in lxml-stubs)
    if internal_dtd is not None or docinfo.doctype:  # type: ignore[attr-defined]  # lxml-stubs lack it
        raise MalformedXml("the XML document has a DOCTYPE: DTDs are not accepted")
    for entity in element.iter(etree.Entity):
        raise MalformedXml(
            f"entity reference {entity.text} at line {entity.sourceline}: "
            "entity references are not accepted"
        )
    return element


def to_element(
    source: bytes | etree._Element, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> etree._Element:
    """Accept what callers hold: raw bytes (CLI, tests) or an element (the SOAP edge)."""
    if isinstance(source, etree._Element):
        return ensure_safe_element(source)
    return parse_xml(source, max_bytes=max_bytes)


def _refuse_doctype(data: bytes, encoding: str | None = None) -> None:
    """Refuse a document that declares a DOCTYPE; the probe stops at the root's start tag.

    The probe's parser is kept per thread and handed the whole document (``fromstring``):
    libxml2 stops at the root, where the target raises. A push parser fed a chunk at a time
    and left at the root was tried (issue 14) and leaked the parse it stopped in, about
    0.3 MB per 1,000 requests (bench/memory_flat.py; tests/unit/test_sad_mapping.py checks
    the resident memory stays flat). A probe that met a DOCTYPE or an error is never reused.
    """
    probe = _kept_parser("probe", encoding)
    try:
        etree.fromstring(data, probe)
    except _RootReached:
        return
    except _DoctypeFound as found:
        _forget_parser("probe", encoding)
        raise MalformedXml(
            f"the XML document declares <!DOCTYPE {found}>: DTDs are not accepted"
        ) from None
    except etree.XMLSyntaxError as exc:
        _forget_parser("probe", encoding)
        raise MalformedXml(_describe(exc)) from None
    except BaseException:
        _forget_parser("probe", encoding)
        raise
    _forget_parser("probe", encoding)  # pragma: no cover - a document without a root raises


def _describe(exc: etree.XMLSyntaxError) -> str:
    line, column = exc.position if exc.position else (exc.lineno, exc.offset)
    message = (exc.msg or str(exc)).split(", line ")[0]
    if "encoding" in message.lower():
        message += " (the document must be UTF-8 unless its XML declaration names another encoding)"
    if message.startswith("Entity '"):
        message += ": entity references are not accepted"
    return f"XML is not well-formed at line {line}, column {column}: {message}"
