"""A fake Telegram Bot API on 127.0.0.1 that speaks the real wire format: a test and demo tool.

Nothing in `bot` imports it except the offline demo (`bot/demo`) and the CLI's demo command; it
imports nothing of `bot` (import contracts in pyproject.toml).
"""
