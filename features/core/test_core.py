"""Binds the admin-door scenarios."""

from pytest_bdd import scenarios

scenarios("core")
