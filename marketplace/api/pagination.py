from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    """Opaque cursors, newest first (stable under inserts)."""

    ordering = "-pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
