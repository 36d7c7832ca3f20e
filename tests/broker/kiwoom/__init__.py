"""Tests of the Kiwoom adapter (REST client, codec, WebSocket)."""
