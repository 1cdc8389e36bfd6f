"""Writes for the supply side, split by subdomain (availability, providers, resources, imports)."""
