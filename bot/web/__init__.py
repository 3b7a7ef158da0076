"""The creator's dashboard: a Telegram Mini App served by the bot's own aiohttp server."""
