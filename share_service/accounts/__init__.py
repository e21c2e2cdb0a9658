"""Accounts: dashboard users, sessions, API keys and login limits. No Flask here."""
