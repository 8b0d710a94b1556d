"""Binds the deliveryodata scenarios."""

from pytest_bdd import scenarios

scenarios("deliveryodata")
