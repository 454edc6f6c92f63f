"""Test data for the tests of the checks, one module per lesson: mutants (plausible wrong answers
the checks must catch, each with its own message) and alternatives (correct answers written
differently that the checks must accept). Never shipped to students."""
