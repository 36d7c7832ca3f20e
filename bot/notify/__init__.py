"""Telling the operator what happened: console feed now; Slack and email sinks build on it."""
