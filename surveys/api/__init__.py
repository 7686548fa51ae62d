"""REST API of the surveys app: surveys, invitations and responses."""
