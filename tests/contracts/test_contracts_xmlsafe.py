"""Hardened XML parsing: DTDs, entities, bombs, nesting and size are refused, quickly."""

from __future__ import annotations

import time

import pytest

from contracts.xmlsafe import UnsafeXmlError, XmlParseError, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

XXE_FILE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
XXE_NET = b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><r/>'
EXTERNAL_DTD = b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd"><r/>'


@pytest.mark.parametrize(
    "doc",
    [BILLION_LAUGHS, XXE_FILE, XXE_NET, EXTERNAL_DTD, b"<!-- hi -->\n<!DOCTYPE r><r/>"],
    ids=["billion-laughs", "xxe-file", "xxe-param-entity", "external-dtd", "doctype-after-comment"],
)
def test_doctypes_and_entities_are_refused_quickly(doc: bytes) -> None:
    start = time.perf_counter()
    with pytest.raises(UnsafeXmlError, match="DOCTYPE") as info:
        parse_xml(doc)
    assert time.perf_counter() - start < 1.0
    assert "\n" not in str(info.value)


def test_utf16_doctype_is_refused() -> None:
    doc = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'.encode("utf-16")
    with pytest.raises(UnsafeXmlError):
        parse_xml(doc)


def test_utf16_document_parses() -> None:
    root = parse_xml('<?xml version="1.0" encoding="utf-16"?><r a="é"/>'.encode("utf-16"))
    assert root.get("a") == "é"


def test_undefined_entity_is_a_parse_error() -> None:
    with pytest.raises(XmlParseError) as info:
        parse_xml(b"<r>&x;</r>")
    assert info.value.line == 1


def test_doctype_text_inside_the_document_is_not_a_doctype() -> None:
    root = parse_xml(b"<?xml version='1.0'?><!-- c --><r><![CDATA[<?xml version='1.0'?><!DOCTYPE x>]]></r>")
    assert "DOCTYPE" in root.text


def test_absurd_nesting_is_refused_in_bounded_time() -> None:
    deep = b"<a>" * 100_000 + b"</a>" * 100_000
    start = time.perf_counter()
    with pytest.raises(UnsafeXmlError, match="nested too deeply"):
        parse_xml(deep)
    assert time.perf_counter() - start < 2.0


def test_depth_limit_is_configurable() -> None:
    doc = b"<a>" * 10 + b"</a>" * 10
    assert parse_xml(doc, max_depth=10).tag == "a"
    with pytest.raises(UnsafeXmlError, match="limit 9"):
        parse_xml(doc, max_depth=9)


def test_oversize_is_refused_before_parsing() -> None:
    with pytest.raises(UnsafeXmlError, match="too large"):
        parse_xml(b"<a>" + b"x" * 2000 + b"</a>", max_bytes=1000)


@pytest.mark.parametrize("doc", [b"", b"   ", b"<a>", b"<a></b>", b"not xml"])
def test_malformed_gives_one_line_parse_error(doc: bytes) -> None:
    with pytest.raises(XmlParseError) as info:
        parse_xml(doc)
    assert str(info.value) and "\n" not in str(info.value)


def test_str_input_with_declaration() -> None:
    assert parse_xml('<?xml version="1.0" encoding="utf-8"?><a b="1"/>').get("b") == "1"
