import pytest
from django.db import connection


@pytest.mark.django_db
def test_database_is_postgresql_in_utf8():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")
        assert cursor.fetchone()[0] == "UTF8"
        cursor.execute("SELECT %s::text", ["精密数控铣削"])
        assert cursor.fetchone()[0] == "精密数控铣削"


@pytest.mark.django_db
def test_range_and_search_extensions_are_installed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension WHERE extname IN ('btree_gist', 'pg_trgm') ORDER BY 1")
        assert [row[0] for row in cursor.fetchall()] == ["btree_gist", "pg_trgm"]
        cursor.execute("SELECT similarity('五轴加工中心', '五轴加工')")
        assert cursor.fetchone()[0] > 0.3
