"""The domain: cases, routing, people, deadlines. No Telegram here, no SQL here."""
