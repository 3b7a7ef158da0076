"""bot.kernel"""
