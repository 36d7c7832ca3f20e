"""The loopback Kiwoom exchange: REST + WebSocket on 127.0.0.1 speaking Kiwoom's protocol exactly.

Behind the wire: a seeded synthetic market (`market.py`), saved condition searches (`conditions.py`),
an account with KRX-style matching (`exchange.py`) and fault injection (`faults.py`). It is an
independent peer of the client in `bot.broker`: it never imports it, so a mistake cannot hide in both.
"""

from bot.sim.server import SimEndpoints, Simulator
from bot.sim.settings import SIM_APPKEY, SIM_SECRETKEY, SimSettings

__all__ = ["SIM_APPKEY", "SIM_SECRETKEY", "SimEndpoints", "SimSettings", "Simulator"]
