"""REST API of the customers app (/api/v1/customers/, contacts, teams, channels, segments)."""
