"""Reads for the supply side that need work (free time, catalogue queries)."""
