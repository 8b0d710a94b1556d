"""THSS, the Teacher Hand Scoring System: takes hand-scoring work from TIS, scores it, calls TIS back."""
