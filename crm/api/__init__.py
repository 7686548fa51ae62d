"""The REST API under /api/v1/: shared authentication, permissions, paging and error handling."""
