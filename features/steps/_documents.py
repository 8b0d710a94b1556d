"""Helpers the step modules share for generated documents (not a step module: the leading underscore keeps
it out of the root conftest's plugin list)."""

from __future__ import annotations

import re

_OPP_KEY = re.compile(rb'<Opportunity [^>]*?key="([0-9a-fA-F-]{36})"')


def opportunity_key(trt: bytes) -> str:
    """The TRT's ``Opportunity@key``, lower case."""
    m = _OPP_KEY.search(trt)
    assert m is not None, "the TRT has no Opportunity key"
    return m.group(1).decode().lower()
