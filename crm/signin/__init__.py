"""Sign-in protection: lock-out after repeated failures, TOTP two-factor sign-in, session limits."""
