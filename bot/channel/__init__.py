"""bot.channel"""
