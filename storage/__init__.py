"""Sunbox's storage: every SQL statement lives in this package."""
