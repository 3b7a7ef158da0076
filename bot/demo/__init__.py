"""bot.demo.runner"""
