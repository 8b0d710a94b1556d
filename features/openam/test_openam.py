"""Binds the openam scenarios."""

from pytest_bdd import scenarios

scenarios("openam")
