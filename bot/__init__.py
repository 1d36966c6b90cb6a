"""Sunbox (阳光信箱): a Telegram bot for a county's open-affairs feedback loop.

Importing it changes nothing in the process; entry points call
``bot.startup.prepare_process`` first.
"""

__version__ = "0.1.0"
