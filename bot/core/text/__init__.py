"""Text analysis shared by indexing and questions: normalise, fold, stopwords, stems, sentences."""
