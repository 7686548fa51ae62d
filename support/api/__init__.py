"""REST API of the support app: tickets with messages and status actions, SLA policies."""
