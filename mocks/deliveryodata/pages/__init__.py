"""deliveryodata pages: the lobby, delivery page, proctor widget and attempt-list controls (HTML on the signed URLs)."""
