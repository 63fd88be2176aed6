"""Users: registration, self-service and administration. Authentication is in `auth`."""
