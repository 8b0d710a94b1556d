"""Check one HTTP response against an OpenAPI 3.1 document: status documented, content type, JSON body schema."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from contracts.openapi import operations


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class _Operation:
    method: str
    template: str
    regex: re.Pattern[str]
    literal: int  # how many literal characters: the most specific template wins
    operation: dict[str, Any]


@dataclass
class ResponseChecker:
    """Checks responses against one document; build it once per document (the schemas compile lazily, cached).

    ``check`` returns the problems found (an empty list when the response conforms, or
    when the document has no operation for the request: there is nothing to check it
    against). JSON bodies are validated with ``jsonschema`` (draft 2020-12, the dialect of
    OpenAPI 3.1), ``$ref``s resolved inside the document.
    """

    document: dict[str, Any]
    uri: str = "urn:examrig:openapi"
    _ops: list[_Operation] = field(default_factory=list, init=False)
    _validators: dict[str, Any] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for method, template, op in operations(self.document):
            pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                              for part in re.split(r"(\{[^}]+\})", template) if part)
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            self._ops.append(_Operation(method, template, re.compile(pattern + "/?$" if not template.endswith("/")
                                                                     else pattern + "?$"), literal, op))
        self._ops.sort(key=lambda o: -o.literal)

    def find(self, method: str, path: str) -> _Operation | None:
        """The documented operation for ``method`` and ``path``, or ``None``."""
        for op in self._ops:
            if op.method == method.upper() and op.regex.match(path):
                return op
        return None

    def _validator(self, pointer: str) -> Any:
        validator = self._validators.get(pointer)
        if validator is None:
            from jsonschema import Draft202012Validator
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012

            registry: Registry[Any] = Registry().with_resource(
                self.uri, Resource.from_contents(self.document, default_specification=DRAFT202012))
            validator = Draft202012Validator({"$ref": f"{self.uri}#{pointer}"}, registry=registry)
            self._validators[pointer] = validator
        return validator

    def check(self, method: str, path: str, status: int, content_type: str | None, body: bytes) -> list[str]:
        """The problems of one response to ``method path`` (empty when it conforms or is not documented)."""
        op = self.find(method, path)
        if op is None:
            return []
        where = f"{method.upper()} {path} -> {status} ({op.template})"
        responses: dict[str, Any] = op.operation.get("responses", {})
        key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None)
        if key is None:
            return [f"{where}: status {status} is not documented (documented: {', '.join(sorted(responses))})"]
        response = responses[key]
        pointer_base = ["paths", op.template, op.method.lower(), "responses", key]
        if "$ref" in response:  # a shared response: follow it (one level, as the documents write them)
            ref = str(response["$ref"])
            pointer_base = [p.replace("~1", "/").replace("~0", "~") for p in ref.lstrip("#/").split("/")]
            response = self._resolve(pointer_base)
        content: dict[str, Any] = response.get("content") or {}
        mimetype = (content_type or "").split(";")[0].strip().lower()
        if not body:
            return []
        if not content:
            return [f"{where}: a {mimetype or 'typeless'} body where the document declares none"]
        if mimetype not in content:
            return [f"{where}: content type {mimetype or 'none'} is not documented "
                    f"(documented: {', '.join(sorted(content))})"]
        if not (mimetype == "application/json" or mimetype.endswith("+json")):
            return []
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return [f"{where}: body is not JSON: {exc}"]
        if "schema" not in content[mimetype]:
            return []
        validator = self._validator(_pointer(*pointer_base, "content", mimetype, "schema"))
        problems = []
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))[:5]:
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{where}: {at}: {error.message[:300]}")
        return problems

    def _resolve(self, parts: list[str]) -> dict[str, Any]:
        node: Any = self.document
        for part in parts:
            node = node[part]
        if not isinstance(node, dict):
            raise TypeError(f"#/{'/'.join(parts)} is not an object")
        return node


__all__ = ["ResponseChecker"]
