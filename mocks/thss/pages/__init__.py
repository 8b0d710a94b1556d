"""THSS teacher pages: the hand-scoring queue and score entry, through the same model calls as the admin API."""
