"""Turning retrieved passages into an answer: sentence choice, citations, abstention, follow-ups."""
