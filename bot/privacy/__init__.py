"""bot.privacy"""
