"""Reads of the trade domain that need work (scoping, joins), one module per subdomain."""
