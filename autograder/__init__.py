"""Transformers from Scratch: the course's checks, release and grading tools.

From a notebook::

    from autograder import check
    check("01", "get_stats", globals())

From a terminal: ``python -m autograder --help``.
"""

from .runner import check

__all__ = ["check"]
