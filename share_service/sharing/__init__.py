"""Sharing: the network registry, article URLs (validation, canonical form, UTM), the share
payload (links and copy snippets), QR codes and the reader-facing messages. No Flask here."""
