"""Questionmark deliveryodata: the OData v3 attempt service, its signed lobby and proctor URLs."""
