"""The PyInstaller plan: the spec compiles, migrations and models are bundled, entry points dispatch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
sys.path.insert(0, str(PACKAGING / "pyinstaller"))

import bundle_plan
import entry_vomid


def test_spec_and_scripts_compile() -> None:
    for path in (PACKAGING / "vomid.spec", PACKAGING / "pyinstaller" / "entry_gui.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    done = subprocess.run(
        check=False,
        args=["bash", "-n", str(PACKAGING / "build.sh")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_build_script_isolates_its_venv_and_pins_torch() -> None:
    script = (PACKAGING / "build.sh").read_text(encoding="utf-8")
    assert 'VENV="$REPO/build/venv"' in script and "/.venv" not in script.replace("build/venv", "")
    assert "-m pip install --quiet torch==2.13.0" in script
    assert "uninstall --quiet -y typing" in script and "torchaudio" not in script
    assert "QT_QPA_PLATFORM=offscreen" in script and "--self-test" in script
    assert "build/" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


def test_alembic_migrations_travel_as_files() -> None:
    data = bundle_plan.repo_data(gui=False)
    targets = {Path(src).relative_to(REPO).as_posix(): dest for src, dest in data}
    assert targets["engine/store/migrations/env.py"] == "engine/store/migrations"
    assert targets["engine/store/migrations/script.py.mako"] == "engine/store/migrations"
    assert targets["engine/store/migrations/versions/0001_initial.py"] == "engine/store/migrations/versions"
    assert not any(dest.startswith("ui") for dest in targets.values())


def test_campplus_is_bundled_only_when_it_is_on_this_machine(tmp_path: Path) -> None:
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    assert bundle_plan.campplus_files(cache_dir=str(empty)) == []
    from engine.models.registry import get_spec

    spec = get_spec("campplus")
    folder = tmp_path / "campplus"
    folder.mkdir()
    (folder / spec.checkpoint).write_bytes(b"weights")
    (folder / "configuration.json").write_text(json.dumps({"model": {"pretrained_model": spec.checkpoint}}))
    files = bundle_plan.campplus_files(cache_dir=str(empty), model_dir=str(folder))
    assert files == [
        (str(folder / spec.checkpoint), f"models/{spec.repo_id}"),
        (str(folder / "configuration.json"), f"models/{spec.repo_id}"),
    ]


def test_bundled_model_folder_is_found_by_the_engine_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import Settings
    from engine.models.loader import _checkpoint_in_dir
    from engine.models.registry import get_spec

    spec = get_spec("campplus")
    target = tmp_path / "models" / spec.repo_id
    target.mkdir(parents=True)
    (target / spec.checkpoint).write_bytes(b"weights")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    model_dir = Settings.model_validate({"data_dir": tmp_path}).model_dir
    assert model_dir == tmp_path / "models"
    assert _checkpoint_in_dir(model_dir, spec) == target / spec.checkpoint


def test_build_info_names_version_and_models(tmp_path: Path) -> None:
    path = bundle_plan.write_build_info(tmp_path / "build_info.json", gui=True, models=[])
    info = json.loads(path.read_text(encoding="utf-8"))
    assert info["version"] == bundle_plan.version() and info["models"] == ["ge2e"] and info["gui"] is True


def test_entry_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle_plan.write_build_info(tmp_path / "build_info.json", gui=False, models=["campplus-zh-en"])
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert entry_vomid.main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"edge-vomid {bundle_plan.version()} (") and "models: campplus-zh-en, ge2e" in out


def test_gui_is_left_out_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOMID_BUNDLE_GUI", "0")
    assert bundle_plan.gui_wanted() is False


def test_example_settings_file_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings import load_settings

    for name in [n for n in __import__("os").environ if n.startswith("VOMID_") and n != "VOMID_SHARED_DATA"]:
        monkeypatch.delenv(name)
    settings = load_settings(config_file=PACKAGING / "config.example.yaml", data_dir=tmp_path)
    assert settings.model == "ge2e" and settings.allow_download is False and settings.kiosk_mode is True


@pytest.mark.parametrize(("models", "expected"), [([], "ge2e"), (["campplus-zh-en"], "campplus-zh-en"),
                                                 (["campplus"], "campplus")])
def test_an_installed_bundle_defaults_to_a_model_it_carries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models: list[str], expected: str
) -> None:
    from app.settings import Settings

    bundle_plan.write_build_info(tmp_path / "build_info.json", gui=True, models=models)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert Settings.model_validate({"data_dir": tmp_path}).model == expected
    assert Settings.model_validate({"data_dir": tmp_path, "model": "campplus"}).model == "campplus"


def test_torch_test_binaries_are_left_out() -> None:
    assert not bundle_plan.keep("torch/test/Dict_test")
    assert not bundle_plan.keep("torch/bin/protoc")
    assert bundle_plan.keep("torch/bin/torch_shm_manager")
    assert not bundle_plan.keep("torch/lib/libtorchbind_test.so")
    assert bundle_plan.keep("torch/lib/libtorch_cpu.so") and bundle_plan.keep("torch/testing/__init__.py")
    assert bundle_plan.keep("models/ge2e/pretrained.pt")
