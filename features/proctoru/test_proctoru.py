"""Binds the proctoru scenarios."""

from pytest_bdd import scenarios

scenarios("proctoru")
