"""Helpers any app may use, which know no app."""
