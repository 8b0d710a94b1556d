"""Binds the tis scenarios."""

from pytest_bdd import scenarios

scenarios("tis")
