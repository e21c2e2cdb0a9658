"""The article catalogue: safe fetcher (``fetcher``), feed / sitemap / page parsers
(``parsers``), the Redis store (``store``) and ingestion (``ingest``). No Flask here."""
