"""The marketing dashboard and its admin pages (server-rendered)."""
