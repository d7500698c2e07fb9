"""Build a servable engine from the knowledge folder, reusing what is persisted."""
