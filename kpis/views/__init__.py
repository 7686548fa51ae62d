"""The manager KPI pages, their chart JSON and the configuration pages (see each module)."""
