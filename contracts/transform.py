"""Document transforms between TRT dialects (the THSS upload wrapper TIS builds)."""

from __future__ import annotations

import copy
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped]

from contracts.xmlsafe import parse_xml

__all__ = ["to_thss_upload"]

# Attributes the older "OSS" TRT dialect inside a THSS upload does not have.
_OSS_DROP: Final = {
    "Opportunity": ("validity", "completeness", "completeStatus", "administrationCondition", "testReason"),
    "Item": ("responseDuration",),
    "Response": ("key",),
    "ScoreInfo": ("conditionCode", "sequence"),
}
# Attributes it requires that a TRT may leave out; TIS writes them empty.
_OSS_REQUIRE: Final = {
    "Test": ("contract",),
    "Opportunity": ("server", "oppId"),
    "Item": ("strand", "contentLevel"),
}


def to_thss_upload(trt: bytes | Any, callback_url: str) -> bytes:
    """Wrap a TRT the way TIS posts it to THSS ``/api/test/submit``.

    The result is ``<ItemScoreRequest callbackUrl="..."><TDSReport>...</TDSReport></ItemScoreRequest>``
    in the OSS dialect: attributes that dialect lacks are dropped, attributes it requires and
    the TRT omits are written empty, and ``Response`` and ``Message`` text goes in CDATA
    sections, as the TIS transform does. The input is not modified.

    Args:
        trt: the TRT as bytes (parsed with :func:`contracts.xmlsafe.parse_xml`) or an lxml element.
        callback_url: where THSS is to post scores back (the TIS ItemScoring callback).

    Returns:
        The UTF-8 document, with an XML declaration, indented.
    """
    root = parse_xml(bytes(trt)) if isinstance(trt, bytes | bytearray) else copy.deepcopy(trt)
    if hasattr(root, "getroot"):
        root = copy.deepcopy(root.getroot())
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name in _OSS_DROP.get(el.tag, ()):
            el.attrib.pop(name, None)
        for name in _OSS_REQUIRE.get(el.tag, ()):
            if el.get(name) is None:
                el.set(name, "")
        if el.tag in ("Response", "Message") and el.text and len(el) == 0:
            el.text = etree.CDATA(el.text)
    wrapper = etree.Element("ItemScoreRequest", callbackUrl=callback_url)
    wrapper.append(root)
    etree.indent(wrapper, space="  ")
    data: bytes = etree.tostring(wrapper, xml_declaration=True, encoding="utf-8")
    return data
