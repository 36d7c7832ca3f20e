"""Session recording (record-format.md): every inbound WebSocket frame and REST exchange, gzip JSON lines.

`SessionRecorder` writes (bounded, lossy, never in trading's way); `read_session` reads back. Used by
the daemon's Kiwoom client taps, by the simulator for its own output, and by replay.
"""

from bot.record.format import FORMAT_VERSION, MASK, file_name, parse_file_name
from bot.record.reader import RecordingCorrupt, SessionReader, read_session
from bot.record.recorder import RecorderStats, SessionRecorder
from bot.record.tap import RecordTap

__all__ = [
    "FORMAT_VERSION",
    "MASK",
    "RecordTap",
    "RecorderStats",
    "RecordingCorrupt",
    "SessionReader",
    "SessionRecorder",
    "file_name",
    "parse_file_name",
    "read_session",
]
