"""Binds the dw scenarios."""

from pytest_bdd import scenarios

scenarios("dw")
