from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    """Opaque cursors, newest first (stable under inserts)."""

    ordering = "-pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response_schema(self, schema):
        # The documented page links look like ours (DRF's sample points at api.example.org/accounts/).
        response = super().get_paginated_response_schema(schema)
        response["properties"]["next"]["example"] = "https://spindle.example/api/v1/orders/?cursor=cD0xMg%3D%3D"
        response["properties"]["previous"]["example"] = "https://spindle.example/api/v1/orders/?cursor=cj0xJnA9MTM%3D"
        return response
