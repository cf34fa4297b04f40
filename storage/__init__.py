"""The complaint records (SQLite)."""
