"""Sandbox routes, one module per area of the Partner API."""
