"""Reproducible training and build commands (need the `train` extra: pandas, scikit-learn)."""
