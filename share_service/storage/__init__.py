"""Storage: every Redis key name (keyspace), the Redis client or the embedded server, and the one
loader of Lua scripts. The bottom layer: it imports nothing else of the service."""
