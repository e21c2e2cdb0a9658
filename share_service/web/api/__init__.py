"""The HTTP API: one blueprint per capability."""
