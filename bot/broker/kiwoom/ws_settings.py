"""Tunables and counters of the Kiwoom WebSocket session (`ws.KiwoomSocket`)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class WsSettings:
    """Timeouts, backoff and limits; seconds are real (monotonic) seconds, not market time."""

    connect_timeout_s: float = 10.0
    login_timeout_s: float = 10.0
    token_timeout_s: float = 60.0
    ack_timeout_s: float = 10.0  # REG/REMOVE acks; a missing ack ends the connection (acks are ordered)
    reply_timeout_s: float = 15.0  # CNSRLST / CNSRREQ replies
    clear_ack_timeout_s: float = 1.0  # CNSRCLR: the ack may never come (§13.4)
    command_wait_s: float = 30.0  # how long a command waits for locks and a live session
    close_timeout_s: float = 2.0
    # No frame and no PING for this long → reconnect. Kiwoom's PING period is undocumented, so this
    # is generous; tests lower it.
    stale_after_s: float = 120.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    backoff_jitter: float = 0.25  # ± fraction of the delay
    # A session up at least this long that drops is retried at once (the feed is blind until it is
    # back); one that dies younger, and every failed attempt, backs off.
    steady_after_s: float = 5.0
    login_attempts: int = 3  # token refusals retried with a fresh token per connect
    condition_pace_s: float = 1.0  # CNSRREQ spacing (OCX-era rule, kept to be safe, §8)
    max_condition_pages: int = 500
    max_items_per_reg: int = 100
    event_buffer: int = 10_000
    event_send_timeout_s: float = 300.0  # a consumer stalled this long is a bug: the session fails
    max_frame_bytes: int = 16 * 1024 * 1024
    proxy: str | None = None  # None: connect directly (the environment's proxy settings are ignored)
    seed: int | None = None  # backoff jitter seed (tests)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("proxy", "seed"):
                continue
            if f.name == "backoff_jitter":
                if not 0.0 <= value < 1.0:
                    raise ValueError(f"WsSettings.backoff_jitter must be in [0, 1), got {value!r}")
            elif f.name == "condition_pace_s":
                if value < 0:
                    raise ValueError(f"WsSettings.condition_pace_s must be >= 0, got {value!r}")
            elif not value > 0:
                raise ValueError(f"WsSettings.{f.name} must be > 0, got {value!r}")
        if self.backoff_cap_s < self.backoff_base_s:
            raise ValueError(
                f"WsSettings.backoff_cap_s ({self.backoff_cap_s}) must be >= "
                f"backoff_base_s ({self.backoff_base_s})"
            )


@dataclass(slots=True)
class WsStats:
    """Counters of one session object (mutated only by it; read by tests, status and benchmarks)."""

    frames: int = 0
    pings_echoed: int = 0
    malformed_frames: int = 0  # frames skipped whole: non-JSON, binary, wrong shape, unknown trnm
    malformed_entries: int = 0  # REAL entries skipped: missing FID, bad number, wrong shape
    unknown_types: int = 0  # REAL entries of types we do not decode (ignored by design)
    events: int = 0
    sessions: int = 0  # successful LOGINs
    reconnects: int = 0  # sessions restored (resubscribed) after a drop
    connect_failures: int = 0
    login_refusals: int = 0
