"""bot.topics"""
