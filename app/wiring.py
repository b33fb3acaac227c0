"""The composition root: settings become the engine (with the calibrated thresholds), the store and the node.

Every entry point asks here: `vomid serve` and `vomid gui` through :class:`app.node_runtime.NodeRuntime`, the CLI
commands through :func:`build_engine` and :func:`open_store`. ``ui/`` receives built objects and builds none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import Settings
from engine.config import EngineConfig

if TYPE_CHECKING:  # torch loads with the engine: the kiosk imports this module before its window shows
    import numpy as np

    from engine.facade import Engine
    from engine.gallery import Gallery

def build_engine(
    settings: Settings,
    *,
    model_id: str | None = None,
    random_weights: bool = False,
    gallery: Gallery | None = None,
    cohort_dir: Path | None = None,
    audit: Callable[..., None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Engine:
    """Load the configured model and return an engine over ``gallery`` (in-memory when None)."""
    from engine.facade import Engine
    from engine.models import load_model

    config = engine_config(settings, model_id=model_id)
    model = load_model(config.model, random_weights=random_weights)
    engine = Engine(config, model=model, gallery=gallery, audit=audit)
    if cohort_dir is not None:
        engine.set_cohort(embed_cohort(engine, cohort_dir, progress=progress))
    return engine


def engine_config(settings: Settings, *, model_id: str | None = None) -> EngineConfig:
    """The one source of the engine's configuration: settings, with thresholds that they leave unset taken from
    the calibration file (``data_dir/thresholds.json``) for this model."""
    return with_calibrated_thresholds(settings.engine_config(model_id=model_id), thresholds_path(settings))


def engine_over(settings: Settings, model: Any, gallery: Gallery, *, vad: Any = None) -> Engine:
    """An engine over an already loaded ``model`` (or a peer's, when offloading) with this site's thresholds."""
    from engine.facade import Engine

    return Engine(engine_config(settings, model_id=model.model_id), model=model, vad=vad, gallery=gallery)


def thresholds_path(settings: Settings) -> Path:
    """Where calibrated per-model thresholds live (``vomid eval --calibrate-far F --threshold-file`` this)."""
    return settings.data_dir / "thresholds.json"


def with_calibrated_thresholds(config: EngineConfig, path: Path) -> EngineConfig:
    """Fill thresholds that settings leave unset from the calibration file, for this model."""
    if not path.exists():
        return config
    from engine.calibration import impostor_for, threshold_for

    model_id = config.model.model_id
    cosine = config.threshold if config.threshold is not None else threshold_for(path, model_id, normalised=False)
    snorm = config.snorm_threshold
    if snorm is None:
        snorm = threshold_for(path, model_id, normalised=True)
    impostor_cosine = config.impostor_cosine or impostor_for(path, model_id, normalised=False)
    impostor_snorm = config.impostor_snorm or impostor_for(path, model_id, normalised=True)
    return replace(config, threshold=cosine, snorm_threshold=snorm, impostor_cosine=impostor_cosine,
                   impostor_snorm=impostor_snorm)


def audio_files(folder: Path) -> list[Path]:
    """Audio files under ``folder``, sorted, recursively."""
    from engine.audio import AUDIO_SUFFIXES

    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def embed_cohort(engine: Engine, folder: Path, *, progress: Any = None) -> np.ndarray:
    """Embeddings of every usable file under ``folder`` (an impostor cohort for AS-norm)."""
    import numpy as np

    from engine.errors import AudioError, QualityRejected

    files = audio_files(folder)
    if not files:
        raise FileNotFoundError(f"no audio files under cohort folder {folder}")
    vectors = []
    for i, path in enumerate(files, 1):
        try:
            vectors.append(engine.embed(path, purpose="verify").vector)
        except (AudioError, QualityRejected):
            pass
        if progress:
            progress("cohort", i, len(files))
    return np.stack(vectors)


def open_store(settings: Settings, *, model_id: str | None = None, progress: Any = None) -> Any:
    """Open (creating on first use) the encrypted store that settings name."""
    from engine.atomic import private_dir
    from engine.store import VoiceprintStore, provider_from_settings

    private_dir(settings.data_dir)  # store, key file, certificates and logs: the owner's only
    secret = settings.master_key_passphrase
    provider = provider_from_settings(
        settings.master_key_source, settings.data_dir, passphrase=secret.get_secret_value() if secret else None
    )
    return VoiceprintStore.open(settings.store_url, provider, data_dir=settings.data_dir, model_id=model_id,
                                progress=progress, node_id=store_node_id(settings), shared=settings.site_mode)


def store_node_id(settings: Settings) -> str | None:
    """The id this node writes under: the setting; in site mode, else the one kept in data_dir (made once);
    otherwise None (the store's own)."""
    from engine.store.node_identity import local_node_id

    if settings.node_id:
        return settings.node_id
    return local_node_id(settings.data_dir) if settings.site_mode else None


def open_store_from_args(args: Any) -> Any:
    """The store for a CLI command's --data-dir (and the environment)."""
    from app.commands.common import settings_from

    return open_store(settings_from(args))


def audit_as(store: Any, actor: str) -> Callable[..., None]:
    """An engine audit hook that files decisions in the store's audit log under ``actor``."""

    def hook(event: str, **fields: Any) -> None:
        store.audit(event, actor, **fields)

    return hook


def open_kiosk_directory(settings: Settings, memory: bool) -> tuple[Any, str | None]:
    """The encrypted store named by settings, or memory; the second value is a fault for the status bar."""
    import logging

    from app.kiosk.directory import MemoryDirectory

    if memory:
        return MemoryDirectory(), None
    try:
        return open_store(settings), None
    except Exception as exc:  # noqa: BLE001 - any store problem: keep the kiosk usable, say so loudly
        logging.getLogger(__name__).error("store unavailable: %s", exc)
        return MemoryDirectory(), f"store unavailable ({getattr(exc, 'message', exc)}); enrolments kept in memory"


def kiosk_service(settings: Settings, *, model_id: str | None = None, memory: bool = False,
                  flags: dict[str, Any] | None = None) -> Any:
    """The kiosk app's service: store (or memory), and a node that serves and joins its cluster like `vomid serve`.

    Nothing slow happens here: the service opens the store, starts the node and loads the model in
    ``service.load()``, which the app runs in a worker once its window shows.
    """
    from app.kiosk import KioskNode, KioskOptions, KioskService

    def opener() -> tuple[Any, KioskNode, str | None]:
        directory, fault = open_kiosk_directory(settings, memory)
        return directory, KioskNode(settings, directory, serve=not memory), fault

    return KioskService(settings, options=KioskOptions.from_settings(settings), model_id=model_id, opener=opener,
                        flags=flags)
