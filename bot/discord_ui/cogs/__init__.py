"""Extensions loaded in `setup_hook`: questions (/ask, /source, mentions, threads) and admin."""
