"""What the PyInstaller bundle holds: hidden imports, data files, models, excluded packages.

Imported by ``packaging/vomid.spec`` (inside the build venv) and by the packaging tests, so the plan is
checked without running a build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUNDLE_NAME = "edge-vomid"
CLI_NAME = "vomid"
GUI_NAME = "vomid-gui"
# Packages that are never used at run time but that analysis would drag in (or that break the build).
EXCLUDES = [
    "torchaudio",
    "torchvision",
    "tensorboard",
    "tensorflow",
    "transformers",
    "datasets",
    "funasr",
    "speakerlab",
    "IPython",
    "jupyter",
    "notebook",
    "pytest",
    "_pytest",
    "hypothesis",
    "mypy",
    "ruff",
    "import_linter",
    "tkinter",
    "matplotlib.backends.backend_tkagg",
    "torch.utils.tensorboard",
    # ModelScope is only needed to download CAM++; a bundle carries the checkpoint itself (when the build
    # machine has it cached) or finds it in model_dir. Its package drags in half of its model zoo.
    "modelscope",
    "modelscope_hub",
    # GE2E's weights come from the model cache (`vomid models install ge2e`); the engine reimplements
    # resemblyzer's front end and calls webrtcvad's C extension directly, so librosa (and numba, llvmlite,
    # scikit-learn behind it, and pyqtgraph's optional numba path) stay out.
    "librosa",
    "numba",
    "llvmlite",
    "sklearn",
    "webrtcvad",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebEngineQuick",
    "PySide6.QtPdf",
    "PySide6.Qt3DCore",
    "PySide6.Qt3DRender",
    "PySide6.QtQuick3D",
    "PySide6.QtDesigner",
    "PySide6.QtMultimedia",
    "PySide6.QtBluetooth",
    "PySide6.QtPositioning",
    "PySide6.QtSensors",
    "PySide6.QtSerialPort",
]
# Files of torch's wheel that no program of ours runs: C++ test binaries, protoc, test libraries (~135 MB).
DROP_PREFIXES = ("torch/test/", "torch/bin/", "torch/include/", "torch/share/")
KEEP_NAMES = {"torch_shm_manager"}  # torch refuses to import without it (torch/__init__.py checks the file)
DROP_NAMES = {
    "libtorchbind_test.so",
    "libaoti_custom_ops.so",
    "libbackend_with_compiler.so",
    "libjitbackend_test.so",
}


def keep(dest: str) -> bool:
    """False for a bundle entry (its path inside the bundle) that is left out on purpose."""
    path = dest.replace("\\", "/")
    name = path.rsplit("/", 1)[-1]
    if name in KEEP_NAMES:
        return True
    return not path.startswith(DROP_PREFIXES) and name not in DROP_NAMES


GUI_ONLY = ["PySide6", "shiboken6", "pyqtgraph", "ui"]
METADATA = [
    "keyring",
    "pydantic",
    "pydantic-settings",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "silero-vad",
    "onnxruntime",
    "numpy",
    "torch",
]
# Packages whose data files the app reads at run time (model weights, VAD models, templates).
DATA_PACKAGES = ["silero_vad", "alembic", "matplotlib", "swagger_ui_bundle"]
# Modules imported by name (importlib, string tables, Alembic scripts, uvicorn's auto choices).
SUBMODULE_PACKAGES = [
    "app",
    "engine",
    "peer",
    "alembic",
    "uvicorn",
    "keyring.backends",
    "zeroconf",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
    "psycopg",
    "python_multipart",
]


def gui_wanted() -> bool:
    """Bundle the PySide6 app unless VOMID_BUNDLE_GUI=0 or the app is not in the tree."""
    if os.environ.get("VOMID_BUNDLE_GUI", "1") == "0":
        return False
    return (REPO / "ui" / "app.py").is_file() and (REPO / "app" / "commands" / "gui.py").is_file()


def version() -> str:
    """The project version from pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def build_info(gui: bool, models: list[str]) -> dict[str, object]:
    """Facts written into the bundle (``vomid --version``): version, commit, date, contents."""
    try:
        commit = subprocess.run(
            check=False,
            args=["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "name": BUNDLE_NAME,
        "version": version(),
        "commit": commit or "unknown",
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "gui": gui,
        "models": [*models, "ge2e"],
    }


def write_build_info(path: Path, gui: bool, models: list[str]) -> Path:
    """Write build_info.json for the bundle (``models``: the bundled ones besides ge2e); returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_info(gui, models), indent=2) + "\n", encoding="utf-8")
    return path


def installed_model_files(cache_dir: str | None = None) -> list[tuple[str, str]]:
    """(source, bundle folder) pairs of the default model and its assets as `vomid models install` left them.

    The bundle gets them as a model cache (``models/<id>/``: weights, checked ONNX export, manifest), which
    the engine's loader reads through the bundle's ``model_dir``. Empty when the model is not installed.
    """
    from engine.models.cache import ModelCache
    from engine.models.registry import DEFAULT_MODEL, get_spec

    cache = ModelCache.at(Path(cache_dir) if cache_dir else None)
    if cache.installed_file(DEFAULT_MODEL) is None:
        return []
    files = []
    items = [DEFAULT_MODEL, *get_spec(DEFAULT_MODEL).companions]
    for item in [*items, "ge2e"] if cache.installed_file("ge2e") else items:
        folder = cache.folder(item)
        files += [(str(p), f"models/{item}") for p in sorted(folder.iterdir())
                  if p.is_file() and not p.name.startswith(".")]
    return files


def licence_files() -> list[tuple[str, str]]:
    """The third-party notice for the bundled model weights."""
    return [(str(REPO / "resources" / "licences" / "MODELS.txt"), "licences")]


def campplus_files(cache_dir: str | None = None, model_dir: str | None = None) -> list[tuple[str, str]]:
    """(source, bundle folder) pairs of the CAM++ checkpoint if it is on this machine, else []."""
    from engine.config import ModelConfig
    from engine.errors import ModelUnavailableError
    from engine.models.loader import find_checkpoint
    from engine.models.registry import get_spec

    spec = get_spec("campplus")
    config = ModelConfig(
        model_id="campplus",
        allow_download=False,
        cache_dir=Path(cache_dir) if cache_dir else None,
        model_dir=Path(model_dir) if model_dir else None,
    )
    try:
        checkpoint = find_checkpoint(spec, config)
    except ModelUnavailableError:
        return []
    target = f"models/{spec.repo_id}"
    files = [(str(checkpoint), target)]
    config_json = checkpoint.parent / "configuration.json"
    if config_json.is_file():
        files.append((str(config_json), target))
    return files


def repo_data(gui: bool) -> list[tuple[str, str]]:
    """Data files of our own packages: Alembic migrations (read from disk), resources, translations."""
    out = [
        (str(p), str(p.parent.relative_to(REPO)))
        for p in sorted((REPO / "engine" / "store" / "migrations").rglob("*"))
        if p.is_file() and p.suffix in (".py", ".mako", ".ini") and "__pycache__" not in p.parts
    ]
    suffixes = {
        ".qm",
        ".png",
        ".svg",
        ".ico",
        ".icns",
        ".wav",
        ".flac",
        ".json",
        ".qss",
        ".ttf",
        ".otf",
        ".txt",
    }
    roots = [REPO / "resources"] + ([REPO / "ui"] if gui else []) + [REPO / "app", REPO / "peer"]
    for root in roots:
        if root.is_dir():
            out += [
                (str(p), str(p.parent.relative_to(REPO)))
                for p in sorted(root.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in suffixes
                and not {"__pycache__", "screenshots"} & set(p.parts)
            ]
    return out
