"""YAML read with libyaml's C parser when PyYAML was built with it (the same safe constructor, ~10x faster).

The requirement catalogue and the OpenAPI documents are read by every ``examrig check``, every corpus run and
every served mock; with the pure-Python parser the catalogue alone took over 3 s of CPU per process.
"""

from __future__ import annotations

from typing import Any

import yaml

# PyYAML without libyaml has no CSafeLoader: the pure-Python parser then, with the same results
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

YAMLError = yaml.YAMLError


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` through the fastest safe loader available."""
    return yaml.load(text, Loader=_Loader)


__all__ = ["YAMLError", "safe_load"]
