"""Grading checks, one module per lesson: references, random inputs, known-mistake diagnosis and
parity with real libraries. Run by `grade` and in this repository on top of the practice checks;
never shipped to students."""
