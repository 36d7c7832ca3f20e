"""KRX/NXT market rules as pure functions: tick sizes, price limits, sessions, costs."""
