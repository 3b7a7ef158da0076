"""bot.faq"""
