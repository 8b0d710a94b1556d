"""The ProctorU legacy API that proctoring integrations (the Open edX ProctorU xBlock among them) call."""
