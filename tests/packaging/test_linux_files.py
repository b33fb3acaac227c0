"""The systemd unit for a headless node and the kiosk session's autostart entry are valid and consistent."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

from tests.packaging.test_ops_files import dockerfile_instructions, exec_form

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "packaging" / "linux"
UNIT = LINUX / "vomid-node.service"
DESKTOP = LINUX / "edge-vomid-kiosk.desktop"
INSTALL_DIR = "/opt/edge-vomid"


def _ini(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def test_unit_runs_the_bundled_node_like_the_image() -> None:
    unit = _ini(UNIT)
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == f"{INSTALL_DIR}/vomid"
    assert argv[1:] == exec_form(dockerfile_instructions(), "CMD"), "same command line as the image"
    assert service["User"] == "vomid" and service["KillSignal"] == "SIGTERM"
    assert service["Restart"] == "on-failure" and service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict" and service["StateDirectory"] == "vomid"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    env = UNIT.read_text(encoding="utf-8")
    assert (
        "Environment=VOMID_DATA_DIR=/var/lib/vomid" in env and "EnvironmentFile=-/etc/vomid/vomid.env" in env
    )


def test_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run scripts/install-test-tools.sh (make test does)"
    stub = tmp_path / "opt" / "vomid"
    stub.parent.mkdir(parents=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    unit = tmp_path / "vomid-node.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(f"{INSTALL_DIR}/vomid ", f"{stub} "))
    done = subprocess.run(
        check=False,
        args=[analyze, "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
    )
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if "vomid-node.service" in line and "Documentation" not in line
    ]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_autostart_entry_starts_the_kiosk_app() -> None:
    entry = _ini(DESKTOP)["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    argv = shlex.split(entry["Exec"])
    assert argv[0] == "env" and "VOMID_KIOSK_MODE=true" in argv
    assert argv[-1] == entry["TryExec"] == f"{INSTALL_DIR}/vomid-gui"
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    assert "Name[zh_CN]" in entry and all(k in entry for k in ("Name", "Comment", "Icon"))


def test_autostart_entry_passes_desktop_file_validate() -> None:
    validate = shutil.which("desktop-file-validate")
    assert validate, "desktop-file-validate is missing: run scripts/install-test-tools.sh (make test does)"
    done = subprocess.run(
        check=False, args=[validate, str(DESKTOP)], capture_output=True, text=True, timeout=60
    )
    errors = [line for line in done.stdout.splitlines() if "error:" in line]
    assert not errors, done.stdout


def test_kiosk_mode_setting_exists_for_the_autostart_variable() -> None:
    from app.settings import Settings

    assert "kiosk_mode" in Settings.model_fields
