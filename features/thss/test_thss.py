"""Binds the thss scenarios."""

from pytest_bdd import scenarios

scenarios("thss")
