"""The `creatorbot` command: `main` parses the arguments; one module per group of subcommands."""

from bot.cli.main import main

__all__ = ["main"]
