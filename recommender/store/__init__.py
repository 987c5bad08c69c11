"""The per-user history behind one interface (`HistoryStore`); SQLite is the embedded default."""
