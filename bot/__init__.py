"""Sunbox (阳光信箱): a Telegram bot for a county's open-affairs feedback loop."""

__version__ = "0.1.0"
