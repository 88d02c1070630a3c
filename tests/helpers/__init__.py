"""Helpers shared by the tests (import them as ``tests.helpers.<module>``; pytest puts the repository on sys.path)."""
