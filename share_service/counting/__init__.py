"""Share counting: events, visitor hashes, the bot filter, the write-behind recorder and readers.

Domain code: no Flask here. The web layer parses requests, calls these plain functions and
shapes the answers; the recorder writes batches to Redis through one Lua script (record.lua).
"""
