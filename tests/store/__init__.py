"""Tests of the SQLite journal (`bot.store`) against real SQLite files."""
