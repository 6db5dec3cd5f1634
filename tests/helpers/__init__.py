"""Builders and test doubles shared by several test directories (one copy each)."""
