"""Authentication: OAuth2 password flow, JWT access tokens, rotating refresh tokens."""
