"""Binds the end-to-end scenarios (tis with the thss, dw, tds and openam mocks)."""

from pytest_bdd import scenarios

scenarios("end_to_end")
