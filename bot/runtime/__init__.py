"""Running the bot: intake (poller, webhook), processor, sender, jobs, supervision and health.

`bot.services` holds the use cases; this package moves updates and outbox rows between
Telegram, the database and the handlers.
"""

from bot.runtime.worker import BotRuntime

__all__ = ["BotRuntime"]
