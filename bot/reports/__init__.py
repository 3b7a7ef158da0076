"""bot.reports"""
