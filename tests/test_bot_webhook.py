"""Webhook mode: PTB's webhook server, registered with Telegram, refusing requests without the secret."""
from __future__ import annotations

import httpx

from bot_harness import bot_config, running_bot
from fake_telegram import free_port


def start_update(update_id: int, user_id: int) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 0, "text": "/start",
        "chat": {"id": user_id, "type": "private", "first_name": "W"},
        "from": {"id": user_id, "is_bot": False, "first_name": "W"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


async def test_webhook_mode_refuses_requests_without_the_secret(fake, pipeline, tmp_path):
    port = free_port()
    config = bot_config(fake, tmp_path, WEBHOOK_URL="https://bot.example.com/tg/hook",
                        WEBHOOK_SECRET="s3cret_value-1", PORT=str(port), WEBHOOK_LISTEN="127.0.0.1")
    async with running_bot(config, pipeline):
        # The bot told Telegram where to call it, and with which secret.
        assert fake.webhook is not None
        assert fake.webhook["url"] == "https://bot.example.com/tg/hook"
        assert fake.webhook["secret_token"] == "s3cret_value-1"
        assert "getUpdates" not in fake.calls  # no polling in webhook mode
        url = f"http://127.0.0.1:{port}/tg/hook"
        async with httpx.AsyncClient(timeout=10) as client:
            missing = await client.post(url, json=start_update(1, 501))
            wrong = await client.post(url, json=start_update(2, 502),
                                      headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert missing.status_code == 403 and wrong.status_code == 403
            ok = await client.post(url, json=start_update(3, 503),
                                   headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret_value-1"})
            assert ok.status_code == 200
        reply = await fake.user(503).reply()
        assert "selfie" in reply.text.lower()
        assert fake.sent_to(501) == [] and fake.sent_to(502) == []
