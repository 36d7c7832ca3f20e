"""Replay a recorded session through the same engine with the dry-run broker (`kiwoom-bot replay`)."""

from bot.replay.engine import RecordingError, ReplayResult, replay_file, replay_records
from bot.replay.stats import StrategyStats, strategy_stats

__all__ = [
    "RecordingError",
    "ReplayResult",
    "StrategyStats",
    "replay_file",
    "replay_records",
    "strategy_stats",
]
