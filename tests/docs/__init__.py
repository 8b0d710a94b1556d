"""The documented shell blocks of README.md and docs/*.md, run as tests (docs/doctest.md)."""
