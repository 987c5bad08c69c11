"""Model definitions (Keras 3) and the small trained artifacts the bot serves."""
