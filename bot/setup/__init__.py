"""bot.setup"""
