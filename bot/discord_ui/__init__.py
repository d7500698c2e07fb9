"""The Discord front end: a thin adapter over `bot.service.QAService` (cogs, views, embeds)."""
