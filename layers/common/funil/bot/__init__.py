"""The Telegram bot: ``/start`` attribution, offers, PIX and Stars checkout (docs/architecture.md §2.3–2.4).

Plain logic taking its collaborators as arguments (``funil.bot.entry.BotDeps``); the handler
``functions/telegram_webhook`` is glue, the Bot API goes through ``funil.adapters.telegram``.
"""
