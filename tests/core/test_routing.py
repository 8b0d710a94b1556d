"""The shape router answers exactly as werkzeug does, on every mock's URL map."""

from __future__ import annotations

import importlib
import random
from typing import Any

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.routing.exceptions import RequestRedirect

from mocks.core.app import Runtime
from mocks.core.routing import ShapeRouter
from mocks.core.settings import Settings
from mocks.registry import ORDER

METHODS = ("GET", "POST", "PATCH", "DELETE", "HEAD", "PUT")


def _outcome(call: Any) -> tuple[Any, ...]:
    try:
        endpoint, values = call()
        return ("match", str(endpoint), values)
    except RequestRedirect as exc:
        return ("redirect", exc.new_url)
    except HTTPException as exc:
        return ("error", exc.code, sorted(getattr(exc, "valid_methods", None) or []))


def _sample(rule: Rule, rng: random.Random) -> str:
    """A path for ``rule`` with random values, digits of every length included."""
    out = []
    for is_dynamic, text in rule._trace:  # werkzeug's public-enough trace of static and dynamic parts
        if not is_dynamic:
            out.append(text)
            continue
        conv = rule._converters[text]
        kind = type(conv).__name__
        if kind == "AnyConverter":
            out.append(rng.choice(sorted(conv.items)))
        elif kind in ("IntegerConverter", "ODataKeyConverter"):
            digits = str(rng.randint(0, 10 ** rng.choice((1, 3, 19, 20, 25))))
            out.append(digits + (rng.choice(["", "L"]) if kind == "ODataKeyConverter" else ""))
        else:
            out.append(rng.choice(["400449", "abc", "12", "a1b2", "x-1", "Index", "7" * 30]))
    return "".join(out).split("|", 1)[-1]


def _paths(url_map: Map, rng: random.Random) -> list[str]:
    paths = []
    for rule in url_map.iter_rules():
        for _ in range(6):
            path = _sample(rule, rng)
            paths += [path, path + "/", path.rstrip("/"), path.replace("/", "//", 1), path + "x", path.upper()]
    return paths


@pytest.mark.parametrize("name", ORDER)
def test_the_shape_router_answers_as_werkzeug_does(name: str) -> None:
    runtime = Runtime.create(Settings(seed=1), db="sqlite://")
    service = importlib.import_module(f"mocks.{name}.service").Service(runtime)
    router = ShapeRouter(service.url_map, service.url_map.bind("examrig", "/"))
    plain = service.url_map.bind("examrig", "/")
    rng = random.Random(name)
    paths = _paths(service.url_map, rng)
    assert len(paths) > 50
    fast = 0
    for _ in range(2):  # the second pass runs on remembered shapes
        for path in paths:
            for method in METHODS:
                expected = _outcome(lambda p=path, m=method: plain.match(p, m))  # type: ignore[misc]
                assert _outcome(lambda p=path, m=method: router.match(p, m)) == expected, (path, method)  # type: ignore[misc]
                fast += router._shapes.get((method, router_key(path))) is not None
    if router.enabled:
        assert fast > 0  # the fast path really served some of them
    runtime.store.dispose()


def router_key(path: str) -> str:
    import re
    return re.sub(r"\d+", "0", path)


def test_a_shape_two_rules_match_is_never_remembered() -> None:
    url_map = Map([Rule("/x/<int:a>", endpoint="int"), Rule("/x/<b>", endpoint="any")])
    router = ShapeRouter(url_map, url_map.bind("h", "/"))
    assert router.enabled
    assert router.match("/x/5", "GET") == ("int", {"a": 5})
    assert router._shapes[("GET", "/x/0")] is None  # both patterns match /x/5: werkzeug decides every time
    assert router.match("/x/abc", "GET") == ("any", {"b": "abc"})
    assert router.match("/x/abc", "GET") == ("any", {"b": "abc"})
    assert router._shapes[("GET", "/x/abc")] is not None


def test_a_map_that_is_not_digit_neutral_is_left_to_werkzeug() -> None:
    # static digits: /v2/<int:a> and /v3/<int:a> share a shape
    url_map = Map([Rule("/v2/<int:a>", endpoint="two"), Rule("/v3/<int:a>", endpoint="three")])
    router = ShapeRouter(url_map, url_map.bind("h", "/"))
    assert not router.enabled
    assert router.match("/v2/1", "GET") == ("two", {"a": 1})
    assert router.match("/v3/1", "GET") == ("three", {"a": 1})
    # a bounded length makes a converter's answer depend on how many digits a run has
    bounded = Map([Rule("/k/<string(length=2):a>", endpoint="short"), Rule("/k/<int:a>", endpoint="int")])
    assert not ShapeRouter(bounded, bounded.bind("h", "/")).enabled


def test_a_remembered_rule_whose_converter_refuses_falls_back_to_werkzeug() -> None:
    from mocks.deliveryodata.urls import CONVERTERS

    url_map = Map([Rule("/A(<odatakey:key>)", endpoint="entity")], converters=CONVERTERS)
    router = ShapeRouter(url_map, url_map.bind("h", "/"))
    assert router.match("/A(5)", "GET") == ("entity", {"key": 5})
    assert router._shapes[("GET", "/A(0)")] is not None
    assert router.match("/A(9788463565326947L)", "GET") == ("entity", {"key": 9788463565326947})
    with pytest.raises(HTTPException) as caught:
        router.match("/A(" + "9" * 20 + ")", "GET")  # over 19 digits: no such key, as werkzeug says
    assert caught.value.code == 404
