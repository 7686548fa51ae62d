import pytest
from django.db import connection

# The trail is written by PostgreSQL triggers (django-pghistory); CI runs these on PostgreSQL.
requires_trail = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the audit trail needs PostgreSQL triggers; SQLite keeps no trail",
)
