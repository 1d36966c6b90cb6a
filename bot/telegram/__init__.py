"""Sunbox's Telegram plumbing, apart from the domain: the HTTP transport (``http``), requests
that wait for durability (``durable_request``), the one retry policy (``retrying``), reaching
Telegram at start-up (``connect``), the durable poller and its raw getUpdates
(``poller``, ``telegram_updates``), the per-person update processor (``update_processor``),
the outbox sender (``outbox``), the conversation persistence (``persistence``) and the local
file store's downloads and resends (``filestore``)."""
