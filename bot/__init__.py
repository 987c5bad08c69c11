"""The Telegram layer of Music Mood Lifter (python-telegram-bot v22); run with `python -m bot`."""
