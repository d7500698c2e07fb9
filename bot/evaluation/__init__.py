"""Evaluation library: metrics, the rank-bm25 baseline and the protocols (no dataset logic)."""
