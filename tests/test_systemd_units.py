"""The shipped systemd units: required settings, agreement with the CLI and config, systemd's own checks."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.cli import EXIT_CONFIG, EXIT_SOFTWARE, EXIT_TEMPFAIL, build_parser
from bot.config import BrokerConfig, load_credentials

SYSTEMD_DIR = Path(__file__).resolve().parent.parent / "systemd"
SERVICE = SYSTEMD_DIR / "kiwoom-bot.service"
TEMPLATE = SYSTEMD_DIR / "kiwoom-bot@.service"
CONSOLE_SCRIPT = "/opt/kiwoom-bot/.venv/bin/kiwoom-bot"

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(path: Path) -> Unit:
    """section → [(key, value)] in file order; keys may repeat, as systemd allows (Environment=)."""
    unit: Unit = {}
    section = ""
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            unit.setdefault(section, [])
            continue
        key, sep, value = line.partition("=")
        assert sep and section, f"{path.name}: not a key=value line inside a section: {raw!r}"
        unit[section].append((key.strip(), value.strip()))
    return unit


def values(unit: Unit, section: str, key: str) -> list[str]:
    """Every value given to `key` in `section`."""
    return [v for k, v in unit.get(section, []) if k == key]


def value(unit: Unit, section: str, key: str) -> str:
    """The one value of `key` in `section` (the test fails if it is missing or repeated)."""
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key}= expected exactly once, found {found}"
    return found[0]


def seconds(text: str) -> float:
    """A systemd time span such as `30s`, `5min`, `300` or `1min 30s`, in seconds."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text):
        total += float(number) * units[unit]
    return total


# What both units must say, exactly (in [Service]).
REQUIRED = {
    "Type": "notify",
    "NotifyAccess": "main",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "Restart": "on-failure",
    "KillMode": "mixed",
    "User": "kiwoom-bot",
    "Group": "kiwoom-bot",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "SystemCallFilter": "@system-service",
    "SystemCallErrorNumber": "EPERM",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "UMask": "0077",
    "StateDirectoryMode": "0700",
}

# (unit file, instance name used to expand %i, config path, state directory name, environment file)
UNITS = [
    (SERVICE, "", "/etc/kiwoom-bot/bot.toml", "kiwoom-bot", "-/etc/kiwoom-bot/secrets.env"),
    (TEMPLATE, "main", "/etc/kiwoom-bot/main.toml", "kiwoom-bot/main", "-/etc/kiwoom-bot/main.env"),
]
IDS = ["kiwoom-bot.service", "kiwoom-bot@.service"]


def expand(text: str, instance: str) -> str:
    """`text` with the instance specifier %i replaced, as systemd does for kiwoom-bot@INSTANCE."""
    return text.replace("%i", instance)


@pytest.mark.parametrize(("path", "instance", "config", "state", "env_file"), UNITS, ids=IDS)
def test_required_settings(path: Path, instance: str, config: str, state: str, env_file: str) -> None:
    """Each unit is Type=notify with watchdog, restart policy, timeouts and the full hardening list."""
    unit = parse_unit(path)
    for key, expected in REQUIRED.items():
        assert value(unit, "Service", key) == expected, key
    assert seconds(value(unit, "Service", "WatchdogSec")) == 30
    assert (
        seconds(value(unit, "Service", "TimeoutStopSec")) >= 60
    )  # shielded cleanup: 15 s cancels, 15 s drain
    assert seconds(value(unit, "Service", "TimeoutStartSec")) >= 120  # reconciliation before READY=1
    assert seconds(value(unit, "Service", "RestartSec")) >= 5
    assert "PYTHONUNBUFFERED=1" in values(unit, "Service", "Environment")
    assert value(unit, "Install", "WantedBy") == "multi-user.target"
    assert "network-online.target" in value(unit, "Unit", "Wants").split()
    assert "network-online.target" in value(unit, "Unit", "After").split()


@pytest.mark.parametrize(("path", "instance", "config", "state", "env_file"), UNITS, ids=IDS)
def test_exit_codes_match_the_cli(path: Path, instance: str, config: str, state: str, env_file: str) -> None:
    """A config error (78) is never restarted into a loop; temporary (75) and internal (70) failures are."""
    prevented = {int(code) for code in value(parse_unit(path), "Service", "RestartPreventExitStatus").split()}
    assert EXIT_CONFIG in prevented
    assert EXIT_TEMPFAIL not in prevented and EXIT_SOFTWARE not in prevented


@pytest.mark.parametrize(("path", "instance", "config", "state", "env_file"), UNITS, ids=IDS)
def test_exec_start_is_what_the_cli_accepts(
    path: Path, instance: str, config: str, state: str, env_file: str
) -> None:
    """ExecStart execs the venv's console script (so the main PID notifies) with a `run` the CLI parses."""
    argv = shlex.split(expand(value(parse_unit(path), "Service", "ExecStart"), instance))
    assert argv[0] == CONSOLE_SCRIPT
    args = build_parser().parse_args(argv[1:])
    assert (args.command, args.config) == ("run", config)


@pytest.mark.parametrize(("path", "instance", "config", "state", "env_file"), UNITS, ids=IDS)
def test_state_directory_is_the_only_writable_place(
    path: Path, instance: str, config: str, state: str, env_file: str
) -> None:
    """StateDirectory=, WorkingDirectory= and ReadWritePaths= name the same private directory."""
    unit = parse_unit(path)
    assert expand(value(unit, "Service", "StateDirectory"), instance) == state
    assert expand(value(unit, "Service", "WorkingDirectory"), instance) == f"/var/lib/{state}"
    assert expand(value(unit, "Service", "ReadWritePaths"), instance) == f"/var/lib/{state}"
    assert expand(value(unit, "Service", "EnvironmentFile"), instance) == env_file


@pytest.mark.parametrize(("path", "instance", "config", "state", "env_file"), UNITS, ids=IDS)
def test_documented_credentials_load(
    path: Path, instance: str, config: str, state: str, env_file: str, tmp_path: Path
) -> None:
    """The unit's commented LoadCredential= lines and the TOML keys they document give the bot its keys."""
    text = path.read_text(encoding="utf-8")
    creds = dict(re.findall(r"^#LoadCredential=([\w-]+):(\S+)$", text, flags=re.MULTILINE))
    assert set(creds) == {"kiwoom-appkey", "kiwoom-secretkey"}
    toml_keys = dict(re.findall(r"^#\s+(\w+_file)\s+= \"(\S+)\"$", text, flags=re.MULTILINE))
    directory = tmp_path / "credentials"  # what systemd provides as $CREDENTIALS_DIRECTORY (files 0400)
    directory.mkdir()
    for name, secret in (("kiwoom-appkey", "A" * 36), ("kiwoom-secretkey", "S" * 44)):
        (directory / name).write_text(secret + "\n", encoding="utf-8")
        (directory / name).chmod(0o400)
    cfg = BrokerConfig.model_validate({"mode": "paper", **toml_keys})
    loaded = load_credentials(cfg, {"CREDENTIALS_DIRECTORY": str(directory)}, "bot.toml")
    assert (loaded.appkey, loaded.secretkey) == ("A" * 36, "S" * 44)


def test_secrets_example_names_the_configured_variables() -> None:
    """secrets.env.example sets exactly the variables [broker] reads by default, with placeholders only."""
    lines = [
        line
        for line in (SYSTEMD_DIR / "secrets.env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    pairs = dict(line.split("=", 1) for line in lines)
    assert set(pairs) == {BrokerConfig().appkey_env, BrokerConfig().secretkey_env}
    assert all(v.startswith("replace-with-") for v in pairs.values())
    assert "chmod 0600" in (SYSTEMD_DIR / "secrets.env.example").read_text(encoding="utf-8")


def test_both_units_differ_only_by_instance() -> None:
    """The template is the plain unit with per-instance paths, so hardening never drifts between them."""

    def settings(path: Path) -> list[tuple[str, str, str]]:
        unit = parse_unit(path)
        keep = {"Description", "ExecStart", "WorkingDirectory", "SyslogIdentifier", "EnvironmentFile"}
        keep |= {"StateDirectory", "ReadWritePaths"}
        return [(s, k, v) for s, pairs in unit.items() for k, v in pairs if k not in keep]

    assert settings(SERVICE) == settings(TEMPLATE)


def test_readme_commands_are_what_the_cli_accepts() -> None:
    """Every console-script command in systemd/README.md parses with the real CLI (no drifted flags)."""
    readme = (SYSTEMD_DIR / "README.md").read_text(encoding="utf-8")
    commands = re.findall(re.escape(CONSOLE_SCRIPT) + r"((?: +[\w./@=-]+)+)", readme)
    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert subcommands is not None
    parsed, missing = set(), set()
    for command in commands:
        argv = command.split()
        if argv[0] not in subcommands:
            missing.add(argv[0])
            continue
        parser.parse_args(argv)  # exits (SystemExit) on an unknown flag or a missing argument
        parsed.add(argv[0])
    assert {"run", "check-config"} <= parsed
    if missing:
        pytest.skip(f"systemd/README.md documents commands the CLI does not have yet: {sorted(missing)}")


# --- systemd's own checks -------------------------------------------------------------------------------
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze not installed (Debian/Ubuntu: apt-get install systemd): unit syntax not verified",
)


def staged_units(tmp_path: Path) -> Path:
    """Both units copied to tmp_path with ExecStart pointing at a stub console script that exists here."""
    stub = tmp_path / "bin" / "kiwoom-bot"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    stub.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for source in (SERVICE, TEMPLATE):
        text = source.read_text(encoding="utf-8")
        assert CONSOLE_SCRIPT in text
        (units / source.name).write_text(text.replace(CONSOLE_SCRIPT, str(stub)), encoding="utf-8")
    return units


@needs_analyze
@pytest.mark.parametrize("name", ["kiwoom-bot.service", "kiwoom-bot@main.service"])
def test_systemd_analyze_verify(tmp_path: Path, name: str) -> None:
    """`systemd-analyze verify` accepts the unit without a single warning (unknown key, bad value)."""
    assert ANALYZE is not None
    units = staged_units(tmp_path)
    done = subprocess.run(
        [ANALYZE, "verify", str(units / name)], capture_output=True, text=True, timeout=60, cwd=units
    )
    ours = [line for line in (done.stdout + done.stderr).splitlines() if "kiwoom-bot" in line]
    assert done.returncode == 0 and ours == [], done.stdout + done.stderr


@needs_analyze
def test_systemd_analyze_verify_catches_a_typo(tmp_path: Path) -> None:
    """The verify test can fail: a misspelt hardening key is reported naming the unit file."""
    assert ANALYZE is not None
    units = staged_units(tmp_path)
    broken = units / "kiwoom-bot.service"
    broken.write_text(broken.read_text().replace("ProtectSystem=strict", "ProtectSytem=strict"), "utf-8")
    done = subprocess.run([ANALYZE, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "Unknown key" in done.stderr and "ProtectSytem" in done.stderr


@needs_analyze
@pytest.mark.parametrize("name", ["kiwoom-bot.service", "kiwoom-bot@main.service"])
def test_systemd_analyze_security_exposure(tmp_path: Path, name: str) -> None:
    """systemd rates the sandbox's exposure at most 2.0 of 10 ("OK"), so hardening cannot silently erode."""
    assert ANALYZE is not None
    units = staged_units(tmp_path)
    done = subprocess.run(
        [ANALYZE, "security", "--offline=yes", "--no-pager", str(units / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in done.stderr and done.returncode != 0:
        pytest.skip("this systemd-analyze has no --offline (systemd < 250)")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 2.0, done.stdout
