"""The package imports and the CLI parser builds."""

from bot.cli import build_parser


def test_cli_parser_builds() -> None:
    """The console script's parser can be constructed."""
    assert build_parser().prog == "kiwoom-bot"
