"""Replay a recorded session through the same engine with the dry-run broker (`kiwoom-bot replay`)."""

from bot.replay.engine import ReplayResult, replay_file, replay_records
from bot.replay.records import ReadStats, RecordingError, read_records
from bot.replay.stats import StrategyStats, strategy_stats

__all__ = [
    "ReadStats",
    "RecordingError",
    "ReplayResult",
    "StrategyStats",
    "read_records",
    "replay_file",
    "replay_records",
    "strategy_stats",
]
