"""Articles and passages: the plain data, the folder loader, columnar storage, reload diffs."""
