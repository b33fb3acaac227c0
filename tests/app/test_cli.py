"""The vomid command line as an operator uses it: help, selfcheck, enrol/verify/identify/list, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from app.cli import build_parser, main


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("VOMID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOMID_MODEL", "ge2e")
    monkeypatch.setenv("VOMID_ALLOW_DOWNLOAD", "false")
    monkeypatch.setenv("VOMID_LOG_TO_FILE", "false")
    return tmp_path


def takes(shared_data: Path, speaker: str) -> list[str]:
    files = sorted((shared_data / "verification" / "en" / speaker).glob("*.flac"))
    return [str(f) for f in files if sf.info(str(f)).duration >= 5.0]


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", subcommands())
def test_every_subcommand_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: vomid " + command) and len(out.splitlines()) > 3


def test_console_script_runs_from_the_venv():
    vomid = Path(sys.executable).with_name("vomid")
    done = subprocess.run([str(vomid), "--help"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "enrol" in done.stdout and "verify" in done.stdout


def test_selfcheck_passes_offline_and_prints_next_step(env, capsys):
    assert main(["selfcheck"]) == 0
    out = capsys.readouterr().out
    assert "self-check passed" in out and "vomid enrol" in out


def test_enrol_verify_identify_list_round_trip(env, shared_data, capsys):
    alice, bob = takes(shared_data, "1998"), takes(shared_data, "3080")
    assert main(["enrol", "r1998", *alice[:3], "--name", "Reader 1998", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["takes"] == 3
    assert main(["enrol", "r3080", *bob[:3], "--json"]) == 0
    capsys.readouterr()

    assert main(["verify", "r1998", alice[4], "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accepted"] and result["model"] == "ge2e"
    assert main(["verify", "r1998", bob[4]]) == 1
    assert "REJECTED" in capsys.readouterr().out

    assert main(["identify", bob[5], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["candidates"][0]["speaker_id"] == "r3080"

    assert main(["list", "--json"]) == 0
    listed = {s["speaker_id"]: s for s in json.loads(capsys.readouterr().out)["speakers"]}
    assert set(listed) == {"r1998", "r3080"} and listed["r1998"]["name"] == "Reader 1998"
    assert "ge2e" in listed["r1998"]["models"]


def test_errors_say_what_to_do(env, shared_data, tmp_path, capsys):
    garbage = tmp_path / "take.wav"
    garbage.write_text("not audio at all")
    assert main(["verify", "nobody", str(garbage)]) == 2
    assert "error:" in capsys.readouterr().err

    assert main(["verify", "nobody", takes(shared_data, "1998")[0], "--model", "campplus"]) == 3
    err = capsys.readouterr().err
    assert "campplus" in err and "--model ge2e" in err


def test_identify_of_a_stranger_on_the_default_model_matches_nobody(env, shared_data, monkeypatch, capsys):
    monkeypatch.setenv("VOMID_MODEL", "campplus-zh-en")
    reader = takes(shared_data, "1998")
    assert main(["enrol", "r1998", *reader[:3], "--json"]) == 0
    capsys.readouterr()

    assert main(["identify", reader[4], "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["model"] == "campplus-zh-en" and found["threshold"] == pytest.approx(0.42)
    assert found["candidates"][0]["speaker_id"] == "r1998" and found["candidates"][0]["score"] >= 0.42

    stranger = takes(shared_data, "3080")[4]
    assert main(["identify", stranger, "--json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["candidates"] == [] and answer["threshold"] == pytest.approx(0.42), answer
    assert main(["identify", stranger]) == 1
    assert capsys.readouterr().out.strip() == "nobody matched (threshold 0.420, model campplus-zh-en)"


def test_cli_decisions_follow_the_node_rules_and_are_audited_once_as_the_cli_user(env, shared_data, capsys):
    import getpass

    reader = takes(shared_data, "1998")
    assert main(["enrol", "r1998", *reader[:3]]) == 0
    assert main(["enrol", "r1998", *reader[:3]]) == 2  # the HTTP rule: delete first
    assert "already enrolled" in capsys.readouterr().err
    assert main(["verify", "r1998", reader[4]]) == 0
    assert main(["speakers", "disable", "r1998"]) == 0
    capsys.readouterr()
    assert main(["verify", "r1998", reader[5]]) == 2  # disabled: said so, not "unknown" nor "rejected"
    assert "disabled" in capsys.readouterr().err
    from app.settings import load_settings
    from app.wiring import open_store

    with open_store(load_settings()) as store:
        rows = [(e["event"], e["actor"]) for e in store.audit_entries(subject="r1998")]
    me = f"cli:{getpass.getuser()}"
    assert rows == [("enrol", me), ("verify", me), ("status_changed", me)], rows
