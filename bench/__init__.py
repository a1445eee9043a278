"""Speed scripts that print ratios (not tests): run from the repository root,
e.g. `.venv/bin/python -m bench.browser`."""
