"""The command-line adapter: `python -m bot ask|chat|search|index|eval|run`."""
