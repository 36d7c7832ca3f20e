"""Broker adapters behind the ports in `port.py`."""
