"""The run-state database: crawl runs and table versions (and later job runs,
bookmarks and schedules). SQLite under ``<home>`` in the local profile, the stack's
PostgreSQL in the stack profile; one portable schema for both."""
