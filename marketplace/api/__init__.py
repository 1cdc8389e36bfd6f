"""The public REST API v1: authentication by organisation API keys, one error format, cursor
pagination, idempotent creation, and the viewsets registered in marketplace/api_urls.py."""
