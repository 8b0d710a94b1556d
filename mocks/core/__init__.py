"""Service-agnostic runtime shared by every examrig mock."""
