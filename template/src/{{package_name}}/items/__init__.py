"""Example domain: copy this package's layout for a new domain, or delete it."""
