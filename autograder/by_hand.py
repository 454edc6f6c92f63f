"""Lesson 06's helpers for learners: each student's problem, and printing it.

(Transitional: re-exported from the grading module until the generator stands on its own.)
"""

from .grading.lesson06 import EXP_TABLE, fmt_matrix, fmt_number, make_problem, problem_markdown, seed_for, show_problem

__all__ = ["EXP_TABLE", "fmt_matrix", "fmt_number", "make_problem", "problem_markdown", "seed_for", "show_problem"]
