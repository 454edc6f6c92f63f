"""Reference implementations used by grading checks and tools; never shipped to students."""
