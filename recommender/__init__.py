"""Selfie → faces → emotion → music mood → song. No Telegram imports live here."""
