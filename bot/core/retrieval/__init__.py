"""Finding passages: BM25 scoring, the index (query, build, on-disk format), term encoding."""
