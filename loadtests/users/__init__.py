"""Locust actors, one module per system they talk to (FastHttpUser, every response checked)."""
