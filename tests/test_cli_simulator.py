"""`kiwoom-bot simulator --json` serves a real Kiwoom-compatible endpoint another client can use."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest


@pytest.fixture
def simulator_process() -> subprocess.Popen[str]:
    """The standalone simulator as a separate process on a free loopback port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "simulator", "--json", "--seed", "7", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    yield proc  # type: ignore[misc]
    proc.terminate()
    proc.wait(timeout=10)


def test_simulator_announces_endpoints_and_issues_a_token(simulator_process: subprocess.Popen[str]) -> None:
    """The first stdout line is JSON with the four keys, and the announced keys get a token there."""
    assert simulator_process.stdout is not None
    line = simulator_process.stdout.readline()
    info = json.loads(line)
    assert set(info) == {"rest_url", "ws_url", "appkey", "secretkey"}
    assert info["rest_url"].startswith("http://127.0.0.1:")
    assert info["ws_url"].startswith("ws://127.0.0.1:") and info["ws_url"].endswith("/api/dostk/websocket")
    reply = httpx.post(
        info["rest_url"] + "/oauth2/token",
        json={"grant_type": "client_credentials", "appkey": info["appkey"], "secretkey": info["secretkey"]},
        headers={"api-id": "au10001"},
        timeout=5,
    )
    body = reply.json()
    assert reply.status_code == 200 and body["return_code"] == 0
    assert body["token_type"].lower() == "bearer" and len(body["expires_dt"]) == 14


def test_simulator_rejects_bad_speed() -> None:
    """A non-positive speed is refused with a usage error naming the flag."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "simulator", "--speed", "0"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 64
    assert "--speed must be > 0" in done.stdout
