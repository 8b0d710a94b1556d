"""What every mock's HTML pages share: one autoescaping Jinja2 environment, the CSP, CSRF tokens, static files.

Pages are server-rendered templates (no HTML assembled in Python strings) with a little vanilla script and plain
CSS, all served by the mock itself so they work offline; every page carries a CSP that allows nothing but the
mock's own origin.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from werkzeug.wrappers import Request, Response

from mocks.core.errors import Forbidden, InputError, NotFound


@cache
def environment(package: str) -> Environment:
    """The Jinja2 environment of ``package``'s templates/ folder: autoescaping on for every template (whatever
    its name), undefined names are errors. One per package, so mocks/core never imports a mock."""
    return Environment(loader=PackageLoader(package, "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def csp(frame_ancestors: str = "'none'") -> str:
    """The page's Content-Security-Policy: the mock's own origin only; who may frame the page is a parameter."""
    return (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
            f"frame-ancestors {frame_ancestors}")


def frame_ancestors(value: Any, option: str) -> str:
    """The ``frame-ancestors`` sources of an option (a string of space-separated sources or a list of them):
    ``'none'`` when unset. A source that could end the directive or start another (``;``, ``,``, a control
    character) is refused, so an option cannot widen the rest of the policy."""
    if value is None or value == "" or value == []:
        return "'none'"
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise InputError(option, "must be a string of CSP sources or a list of them")
    for item in items:
        if any(c in item for c in ";,") or not item.isprintable() or not item.isascii() or " " in item:
            raise InputError(option, f"{item!r} is not a CSP source (e.g. https://proctor.example or 'self')")
    return " ".join(items)


def render(package: str, template: str, status: int = 200, *, frame_ancestors: str = "'none'",
           headers: dict[str, str] | None = None, **context: Any) -> Response:
    """``package``'s ``template`` rendered into an HTML response with the CSP and the usual hardening headers."""
    body = environment(package).get_template(template).render(**context)
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = csp(frame_ancestors)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # the signed URLs carry their token in the query
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_html(request: Request) -> bool:
    """Whether the client prefers a page: ``text/html`` ranked above JSON in its Accept (a browser's navigation)."""
    # a browser sends text/html first and */* at a lower quality; "*/*" alone (curl, API clients) picks JSON
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


class CsrfInvalid(Forbidden):
    """A page's form without the token this server gave the page (a cross-site or stale form)."""

    code = "csrf_invalid"
    template = "The form's token is missing or not valid (csrf): reload the page and try again."


def csrf_token(secret: bytes, *parts: str) -> str:
    """A token bound to ``parts`` (a session, an attempt): forms carry it, a cross-site page cannot know it."""
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, given: str | None, *parts: str) -> bool:
    """Whether ``given`` is the token of ``parts`` (constant-time)."""
    if not given or not given.isascii():
        return False
    return hmac.compare_digest(csrf_token(secret, *parts), given)


#: the package whose static/ holds what every mock's pages share (pages.css), served under each mock's own static path
SHARED = "mocks.core"


def static(package: str, name: str) -> Response:
    """A file of ``package``'s static/ folder, else of the shared one (``mocks/core/static``: the one stylesheet of
    every mock's pages); names are flat: no folders, no dot files."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise NotFound(message=f"no static file '{name}'")
    item = resources.files(package).joinpath("static").joinpath(name)
    if not item.is_file():
        item = resources.files(SHARED).joinpath("static").joinpath(name)
    if not item.is_file():
        raise NotFound(message=f"no static file '{name}'")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = Response(item.read_bytes(), content_type=f"{kind}; charset=utf-8" if kind.startswith("text/")
                        or kind.endswith("javascript") else kind)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response
