"""Version and format negotiation as ASP.NET Web API OData 5.x (System.Web.Http.OData) over ODataLib 5.x does it.

Sources (OData/WebApi branch maintenance-V3, src/System.Web.Http.OData):

- ``OData/Routing/ODataVersionConstraint.cs``: the OData route matches only when the request's
  ``DataServiceVersion`` (else ``MaxDataServiceVersion``, else none: taken as 3.0) reads as a version
  from 1.0 to 3.0, and (relaxed match, the V3 default) no ``OData-Version`` header is present and an
  ``OData-MaxVersion`` only beside a ``MaxDataServiceVersion``. A request that fails it matches no
  route: Web API's 404 "No HTTP resource was found that matches the request URI".
- ``Extensions/HttpRequestMessageProperties.cs`` + ODataLib ``ODataUtils.StringToODataVersion``: a
  version header is trimmed of ``' '`` and ``';'``, cut at the first ``';'`` (a user agent may follow)
  and must then be exactly ``1.0``, ``2.0`` or ``3.0``; anything else reads as no version.
- ``OData/Formatter/ODataMediaTypeFormatter.cs`` ``GetODataResponseVersion``: the response is written at
  ``MaxDataServiceVersion``, else ``DataServiceVersion``, else 3.0, and says so in ``DataServiceVersion``.
- ``OData/Formatter/ODataMediaTypeFormatters.cs`` / ``ODataMediaTypes.cs``: the formatters in order
  (atomsvc+xml for the service document; JSON with minimalmetadata first, fullmetadata, nometadata,
  verbose, plain; atom+xml for feeds and entries; application/xml for the service document, $metadata
  and errors), Web API's ``DefaultContentNegotiator`` trying the Accept header's ranges by quality,
  then the first formatter that can write the payload (JSON minimal metadata).
- ODataLib ``MediaTypeUtils``: JSON Light exists only at 3.0; below it JSON is verbose JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# what a format is written as: JSON Light (three metadata levels), verbose JSON, Atom, plain XML
LIGHT, VERBOSE, ATOM, XML = "light", "verbose", "atom", "xml"
MINIMAL, FULL, NONE = "minimalmetadata", "fullmetadata", "nometadata"

FEED, ENTRY, SERVICE, ERROR, METADATA = "feed", "entry", "service", "error", "metadata"

VERSIONS = {"1.0": 1, "2.0": 2, "3.0": 3}


@dataclass(frozen=True)
class Format:
    """How one response is written: the format, its JSON Light metadata level, its version and Content-Type."""

    kind: str
    level: str
    version: int
    content_type: str

    @property
    def version_header(self) -> str:
        return f"{self.version}.0"


def parse_version(value: str | None) -> int | None:
    """A version header as ODataLib reads it (1, 2 or 3), or None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip(" ;").split(";", 1)[0].strip()
    return VERSIONS.get(text)


def response_version(environ: dict[str, Any]) -> int | None:
    """The version the response is written at, or None where Web API's OData route would not match."""
    dsv = environ.get("HTTP_DATASERVICEVERSION")
    max_dsv = environ.get("HTTP_MAXDATASERVICEVERSION")
    next_version = "HTTP_ODATA_VERSION" in environ
    next_max = "HTTP_ODATA_MAXVERSION" in environ
    # relaxed match: V4 headers refuse the request, except OData-MaxVersion alone beside MaxDataServiceVersion
    if (next_version or next_max) and not (next_max and not next_version and max_dsv is not None):
        return None
    if dsv is not None:
        requested = parse_version(dsv)
    elif max_dsv is not None:
        requested = parse_version(max_dsv)
    else:
        requested = 3
    if requested is None:
        return None
    chosen = parse_version(max_dsv)
    if chosen is None:
        chosen = parse_version(dsv)
    return 3 if chosen is None else chosen


# the media types each format answers, in the formatters' order (ODataMediaTypeFormatters.Create)
_JSON_TYPES: tuple[tuple[str, str], ...] = (
    ("application/json;odata=minimalmetadata;streaming=true", MINIMAL),
    ("application/json;odata=minimalmetadata;streaming=false", MINIMAL),
    ("application/json;odata=minimalmetadata", MINIMAL),
    ("application/json;odata=fullmetadata;streaming=true", FULL),
    ("application/json;odata=fullmetadata;streaming=false", FULL),
    ("application/json;odata=fullmetadata", FULL),
    ("application/json;odata=nometadata;streaming=true", NONE),
    ("application/json;odata=nometadata;streaming=false", NONE),
    ("application/json;odata=nometadata", NONE),
    ("application/json;odata=verbose", "verbose"),
    ("application/json;streaming=true", MINIMAL),
    ("application/json;streaming=false", MINIMAL),
    ("application/json", MINIMAL),
)
_FORMATTERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    SERVICE: (("application/atomsvc+xml", ATOM, ""),
              *((t, LIGHT, lvl) for t, lvl in _JSON_TYPES), ("application/xml", XML, "")),
    FEED: (*((t, LIGHT, lvl) for t, lvl in _JSON_TYPES),
           ("application/atom+xml;type=feed", ATOM, ""), ("application/atom+xml", ATOM, "")),
    ENTRY: (*((t, LIGHT, lvl) for t, lvl in _JSON_TYPES),
            ("application/atom+xml;type=entry", ATOM, ""), ("application/atom+xml", ATOM, "")),
    # atom+xml for errors is examrig's (assumed): Atom clients (Pyslet) read errors as XML only
    ERROR: (*((t, LIGHT, lvl) for t, lvl in _JSON_TYPES), ("application/xml", XML, ""),
            ("application/atom+xml", XML, "")),
    METADATA: (("application/xml", XML, ""),),
}


def _media(text: str) -> tuple[str, dict[str, str]]:
    kind, *params = text.split(";")
    out: dict[str, str] = {}
    for p in params:
        name, _, value = p.partition("=")
        if name.strip():
            out[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), out


def _accept(header: str) -> list[tuple[str, dict[str, str]]]:
    """The Accept header's ranges with q > 0, best first (stable among equal qualities), q removed."""
    ranges: list[tuple[float, int, str, dict[str, str]]] = []
    for i, item in enumerate(header.split(",")):
        if not item.strip():
            continue
        kind, params = _media(item)
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 0.0
        if q > 0:
            ranges.append((-q, i, kind, params))
    ranges.sort()
    return [(kind, params) for _q, _i, kind, params in ranges]


def _matches(supported: str, kind: str, params: dict[str, str]) -> bool:
    """Whether a supported media type is within the accepted range (Web API's IsSubsetOf)."""
    s_kind, s_params = _media(supported)
    s_main, _, s_sub = s_kind.partition("/")
    main, _, sub = kind.partition("/")
    if main != "*" and (main != s_main or (sub != "*" and sub != s_sub)):
        return False
    # every parameter the client names must be the supported type's (charset is the encoding's business)
    return all(s_params.get(n) == v for n, v in params.items() if n != "charset")


def _content_type(media: str, kind: str) -> str:
    if kind == VERBOSE:
        return "application/json;odata=verbose;charset=utf-8"
    if kind == XML:
        return "application/xml;charset=utf-8"
    return media + ";charset=utf-8"


_CACHE: dict[tuple[str, str, int], Format] = {}
_INTERN: dict[Format, Format] = {}


def choose(accept: str | None, payload: str, version: int) -> Format:
    """The format of a ``payload`` for an Accept header at ``version`` (cached: a few headers in practice)."""
    key = (accept or "", payload, version)
    found = _CACHE.get(key)
    if found is not None:
        return found
    formatters = _FORMATTERS[payload]
    # with no acceptable range Web API takes the first formatter that can write the payload
    media, kind, level = formatters[0]
    for a_kind, a_params in _accept(accept or ""):
        hit = next((f for f in formatters if _matches(f[0], a_kind, a_params)), None)
        if hit is not None:
            media, kind, level = hit
            break
    if kind == LIGHT and (level == "verbose" or version < 3):
        # verbose JSON by name; below 3.0 every JSON is verbose (JSON Light is a 3.0 format)
        kind, level, media = VERBOSE, "", "application/json;odata=verbose"
    made = Format(kind, level, version, _content_type(media, kind))
    found = _INTERN.setdefault(made, made)  # one object per format, so the views compare with 'is'
    if len(_CACHE) >= 512:
        _CACHE.clear()
    _CACHE[key] = found
    return found


def body_format(content_type: str) -> str | None:
    """The format of a request body from its Content-Type (None: not an OData format)."""
    kind, params = _media(content_type)
    if kind == "application/json" or kind == "":
        return VERBOSE if params.get("odata") == "verbose" else LIGHT
    if kind in ("application/atom+xml", "application/xml"):
        return ATOM
    return None
