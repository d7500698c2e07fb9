"""The core's file helpers: atomic replacement, .npz members, packed strings (the index and
the parse cache are the only files the core reads or writes)."""
