"""Operator control of the running daemon from Slack (Socket Mode): status, kill, resume, flatten."""

from bot.control.commands import COMMANDS, Command, Incoming, incoming_message, parse_command
from bot.control.controller import Controller
from bot.control.settings import ControlSettings, control_settings
from bot.control.slack import SlackBridge, SlackControlError, check_socket_url, run_slack_control
from bot.control.target import ControlTarget, DaemonTarget

__all__ = [
    "COMMANDS",
    "Command",
    "ControlSettings",
    "ControlTarget",
    "Controller",
    "DaemonTarget",
    "Incoming",
    "SlackBridge",
    "SlackControlError",
    "check_socket_url",
    "control_settings",
    "incoming_message",
    "parse_command",
    "run_slack_control",
]
