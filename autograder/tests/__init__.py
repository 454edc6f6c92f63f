"""The course's own test suite (run with `pytest` from the repository root)."""
