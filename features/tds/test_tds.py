"""Binds the tds scenarios."""

from pytest_bdd import scenarios

scenarios("tds")
