"""Settings: precedence default < file < profile < env < flag, provenance, secrets, refusals, runtime changes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.commands import config_cmd
from app.settings import (
    RUNTIME_FIELDS,
    LiveSettings,
    Settings,
    SettingsError,
    changed_settings,
    explain_settings,
    load_settings,
)


def _origins(**flags: object) -> dict[str, object]:
    _, origins = explain_settings(**flags)
    return {o.name: o for o in origins}


def test_defaults_when_nothing_is_set(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = load_settings()
    assert s.data_dir == tmp_path and s.profile == "production" and s.config_file is None
    assert s.model == "campplus-zh-en" and s.log_level == "INFO" and s.logs_dir == tmp_path / "logs"
    assert _origins()["model"].source == "default"


def test_each_layer_overrides_the_one_below(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "threshold: 0.61\nthreads: 4\nlog_level: error\nnode_tls: true\nmodel: ge2e\nprofile: development\n"
    )
    settings_env.setenv("VOMID_THREADS", "3")
    s = load_settings(model="campplus")
    o = _origins(model="campplus")
    assert (s.threshold, o["threshold"].source) == (0.61, "file")
    assert (s.node_tls, o["node_tls"].source) == (False, "profile")  # development profile beats the file
    assert (s.log_level, o["log_level"].source) == ("DEBUG", "profile")
    assert o["log_level"].overridden == (("file", "error"),)
    assert (s.threads, o["threads"].source, o["threads"].detail) == (3, "env", "VOMID_THREADS")
    assert (s.model, o["model"].source) == ("campplus", "flag")
    assert o["model"].overridden == (("file", "ge2e"),)
    assert s.config_file == tmp_path / "config.yaml"


def test_json_file_from_vomid_config_with_paths_relative_to_it(
    settings_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cfg = tmp_path / "etc" / "vomid.json"
    cfg.parent.mkdir()
    cfg.write_text(json.dumps({"model_dir": "weights/campplus.bin", "static_peers": ["10.0.0.2:8443"]}))
    settings_env.setenv("VOMID_CONFIG", str(cfg))
    s = load_settings()
    assert s.model_dir == tmp_path / "etc" / "weights" / "campplus.bin"
    assert s.static_peers == ["10.0.0.2:8443"]
    assert _origins()["config_file"].detail == "VOMID_CONFIG"


def test_config_flag_beats_vomid_config(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("threshold: 0.1\n")
    (tmp_path / "b.yaml").write_text("threshold: 0.2\n")
    settings_env.setenv("VOMID_CONFIG", str(tmp_path / "a.yaml"))
    assert load_settings(config_file=tmp_path / "b.yaml").threshold == 0.2


def test_profile_from_environment_and_test_profile(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("VOMID_PROFILE", "test")
    s = load_settings()
    assert (s.profile, s.allow_download, s.threads, s.log_console) == ("test", False, 1, "off")


def test_comma_separated_peers_from_env(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("VOMID_STATIC_PEERS", "10.0.0.2:8443, 10.0.0.3:8443")
    assert load_settings().static_peers == ["10.0.0.2:8443", "10.0.0.3:8443"]


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("VOMID_THRESHOLD", "high", "invalid setting threshold = 'high' (from env VOMID_THRESHOLD)"),
        ("VOMID_NODE_PORT", "70000", "invalid setting node_port"),
        ("VOMID_MODEL", "wav2vec", "unknown model 'wav2vec'"),
        ("VOMID_OFFLOAD_STRATEGY", "fastest", "invalid setting offload_strategy"),
        ("VOMID_PROFILE", "staging", "invalid setting profile"),
    ],
)
def test_invalid_env_value_is_refused_with_field_and_reason(
    settings_env: pytest.MonkeyPatch, var: str, value: str, expected: str
) -> None:
    settings_env.setenv(var, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert expected in err.value.message


def test_unknown_key_and_bad_value_in_file_name_the_file(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("treshold: 0.5\nthreads: 0\n")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert f"invalid setting treshold = 0.5 (from file {cfg}): not a known setting" in err.value.message
    assert f"invalid setting threads = 0 (from file {cfg}): Input should be greater than or equal to 1" in (
        err.value.message
    )


def test_broken_yaml_and_missing_file_are_refused(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("threshold: [0.5\n")
    with pytest.raises(SettingsError, match="does not parse"):
        load_settings()
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(config_file=tmp_path / "missing.yaml")


def test_secrets_are_never_printed(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.yaml").write_text("admin_pin: 424242\n")
    settings_env.setenv("VOMID_MASTER_KEY_PASSPHRASE", "correct horse battery")
    s = load_settings()
    assert s.admin_pin is not None and s.admin_pin.get_secret_value() == "424242"
    assert "correct horse" not in repr(s) and "correct horse" not in json.dumps(s.public_dict())
    for as_json in (False, True):
        assert _run_config_show(["--json"] if as_json else []) == 0
        out = capsys.readouterr().out
        assert "****" in out and "424242" not in out and "correct horse" not in out


def test_the_stored_pin_hash_is_never_printed(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 6-digit PIN's scrypt hash falls to an offline search: `config show` (pasted into tickets) hides it."""
    from app.kiosk.service import hash_pin

    stored = hash_pin("135790")
    (tmp_path / "config.yaml").write_text(f"admin_pin_hash: '{stored}'\n")
    s = load_settings()
    assert s.admin_pin_hash == stored
    digest = stored.split("$")[2]
    assert digest not in json.dumps(s.public_dict()) and s.public_dict()["admin_pin_hash"] == "****"
    for as_json in (False, True):
        assert _run_config_show(["--json"] if as_json else []) == 0
        out = capsys.readouterr().out
        assert digest not in out and stored.split("$")[1] not in out
        assert "admin_pin_hash" in out and "****" in out
    assert _run_config_show(["--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["settings"]["admin_pin_hash"]
    assert shown["value"] == "****" and shown["source"] != "default"


def test_invalid_secret_is_refused_without_echoing_it(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("VOMID_MASTER_KEY_SOURCE", "vault")
    settings_env.setenv("VOMID_MASTER_KEY_PASSPHRASE", "s3cret")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "master_key_source" in err.value.message and "s3cret" not in err.value.message


def _run_config_show(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="vomid")
    config_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["config", "show", *argv])
    return int(args.func(args))


def test_config_show_text_names_sources(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.yaml").write_text("threshold: 0.42\n")
    settings_env.setenv("VOMID_LOG_LEVEL", "warning")
    settings_env.setenv("VOMID_TRESHOLD", "0.3")
    assert _run_config_show(["--model", "ge2e"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert lines["threshold"].split()[1:] == ["0.42", "file", f"({tmp_path / 'config.yaml'})", "[runtime]"]
    assert "env (VOMID_LOG_LEVEL)" in lines["log_level"] and '"WARNING"' in lines["log_level"]
    assert lines["model"].split()[1:] == ['"ge2e"', "flag"]
    assert lines["node_port"].split()[1:] == ["8443", "default"]
    assert "VOMID_TRESHOLD names no setting" in lines["warning:"]


def test_config_show_json(settings_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_config_show(["--json", "--profile", "development"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"] == "development"
    assert data["settings"]["profile"]["source"] == "flag"
    assert data["settings"]["node_tls"] == {
        "name": "node_tls",
        "value": False,
        "source": "profile",
        "detail": "development",
        "runtime": False,
        "secret": False,
        "overridden": [],
    }
    assert set(data["settings"]) == set(Settings.model_fields)


def test_engine_config_carries_the_settings(settings_env: pytest.MonkeyPatch) -> None:
    s = load_settings(threshold=0.5, min_snr_db=6.0, model="ge2e")
    cfg = s.engine_config(model_id="campplus")
    assert (cfg.model.model_id, cfg.threshold, cfg.quality.min_snr_db) == ("campplus", 0.5, 6.0)
    assert s.engine_config().model.model_id == "ge2e"


def test_runtime_fields_are_settings() -> None:
    assert RUNTIME_FIELDS <= set(Settings.model_fields)
    assert {"threshold", "offload_strategy", "log_level"} <= RUNTIME_FIELDS
    assert not {"data_dir", "model", "store_url", "master_key_passphrase", "node_port"} & RUNTIME_FIELDS


def test_runtime_change_is_validated_audited_and_announced(settings_env: pytest.MonkeyPatch) -> None:
    audit: list[tuple[str, dict[str, object]]] = []
    live = LiveSettings(load_settings(), audit=lambda event, **f: audit.append((event, f)))
    seen: list[dict[str, object]] = []
    live.subscribe(lambda new, diff: seen.append(diff))
    diff = live.update(
        {"threshold": 0.55, "log_level": "debug", "offload_strategy": "round_robin"}, actor="admin"
    )
    assert live.current.threshold == 0.55 and live.current.log_level == "DEBUG"
    assert diff["threshold"] == (None, 0.55) and seen == [diff]
    assert (
        "setting_changed",
        {"actor": "admin", "setting": "threshold", "old": None, "new": "0.55"},
    ) in audit
    with pytest.raises(SettingsError, match="need a restart.*model"):
        live.update({"model": "ge2e"}, actor="admin")
    with pytest.raises(SettingsError, match="offload_strategy"):
        live.update({"offload_strategy": "fastest"}, actor="admin")
    assert live.current.offload_strategy == "round_robin" and len(audit) == 3


def test_changed_settings_reads_no_other_source(settings_env: pytest.MonkeyPatch) -> None:
    s = load_settings()
    settings_env.setenv("VOMID_THREADS", "7")
    assert changed_settings(s, {"threshold": 0.4}).threads == s.threads
