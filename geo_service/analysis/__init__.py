"""Analyses and their reports: proximity tables in the reader's language, workbooks, printable pages."""
