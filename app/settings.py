"""One typed settings object from defaults, a YAML/JSON file, a profile, VOMID_* variables and flags.

Precedence, lowest first: default < file < profile < env < flag. The file is ``--config`` (the
``config_file`` override), else ``VOMID_CONFIG``, else ``data_dir/config.yaml`` (or ``.yml``/``.json``)
when it exists. ``explain_settings`` says where each effective value came from.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from engine.config import EngineConfig, ModelConfig, QualityConfig
from engine.errors import VomidError
from peer import const as peer_const

APP_NAME = "edge-vomid"
ENV_PREFIX = "VOMID_"
CONFIG_ENV = "VOMID_CONFIG"
DEFAULT_CONFIG_NAMES = ("config.yaml", "config.yml", "config.json")
SOURCES = ("default", "file", "profile", "env", "flag")

Profile = Literal["development", "test", "production"]
OffloadStrategy = Literal[
    "round_robin", "random", "least_connections", "weighted_round_robin", "least_response_time"
]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# Values each profile sets on top of the file (and under the environment). production is the defaults.
PROFILES: Mapping[str, Mapping[str, Any]] = {
    "development": {"log_level": "DEBUG", "node_tls": False, "node_host": "127.0.0.1"},
    "test": {
        "log_level": "WARNING",
        "allow_download": False,
        "threads": 1,
        "node_host": "127.0.0.1",
        "log_console": "off",
    },
    "production": {},
}

# Not secret in themselves but shown as **** too: a short PIN's salted hash still falls to an offline search.
HASHED_SECRETS = frozenset({"admin_pin_hash"})
# Fields the admin screen and the API may change on a running node without a restart (audited).
RUNTIME_FIELDS: frozenset[str] = frozenset(
    {
        "threshold",
        "snorm_threshold",
        "use_snorm",
        "min_speech_enrol_s",
        "min_speech_verify_s",
        "max_clipping_ratio",
        "min_level_dbfs",
        "min_snr_db",
        "offload_strategy",
        "offload_queue_depth",
        "log_level",
        "verify_lockout_failures",
        "verify_lockout_window_s",
        "verify_lockout_s",
        "verify_lockout_max_s",
        "rate_limit_per_minute",
        "login_mode",
        "kiosk_idle_s",
    }
)


class SettingsError(VomidError):
    """A setting is invalid, unknown, or cannot be changed the way it was asked."""

    code = "invalid_setting"


def default_data_dir() -> Path:
    """The platform's per-user data directory for the app."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def bundled_model_dir() -> Path | None:
    """Models shipped inside an installed (PyInstaller) bundle, or None when running from source."""
    base = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or base is None:
        return None
    folder = Path(base) / "models"
    return folder if folder.is_dir() else None


def default_model() -> str:
    """CAM++ zh-en, except in an installed bundle built without its weights: there the model it carries."""
    from engine.models.registry import DEFAULT_MODEL

    base = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or base is None:
        return DEFAULT_MODEL
    try:
        models = json.loads((Path(base) / "build_info.json").read_text(encoding="utf-8")).get("models", [])
    except (OSError, ValueError):
        return DEFAULT_MODEL
    return DEFAULT_MODEL if DEFAULT_MODEL in models or not models else str(models[0])  # models[-1] is ge2e


def _split_list(value: Any) -> Any:
    """Accept ``a,b`` or a JSON list for list settings given as text."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Effective configuration of a node or app; passed into constructors, never global."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    # Where things live, and how this configuration was assembled.
    data_dir: Path = Field(default_factory=default_data_dir, description="Store, keys and logs live here.")
    config_file: Path | None = Field(None, description="YAML or JSON settings file in use (VOMID_CONFIG).")
    profile: Profile = Field("production", description="development, test or production defaults.")
    # Model.
    model: str = Field(
        default_factory=lambda: default_model(),
        description="Registry id of the model in use (campplus-zh-en, campplus, eres2netv2, ge2e); default "
        "campplus-zh-en (installed by `vomid models install`), or the model an installed bundle carries.",
    )
    model_dir: Path | None = Field(
        default_factory=bundled_model_dir,
        description="Local directory or checkpoint file with the model weights "
        "(default: the models inside an installed bundle).",
    )
    model_cache_dir: Path | None = Field(
        None, description="Local model cache that `vomid models install` fills (default: the per-user data "
        "folder's models/, shared by every data_dir)."
    )
    allow_download: bool = Field(True, description="Download missing weights from ModelScope when online.")
    download_timeout_s: float = Field(3.0, gt=0, description="Reachability check before any download.")
    threads: int = Field(
        1, ge=1, le=64, description="Threads per embedding (ONNX Runtime or torch). 1: a node at 4 concurrent "
        "verifies serves 1.4x more per CPU than with 2; one kiosk sign-in is about 10 ms slower."
    )
    inference: Literal["auto", "onnx", "torch"] = Field(
        "auto", description="auto: ONNX Runtime when `vomid models install` left a checked export, else torch."
    )
    # Decisions and the quality gate.
    threshold: float | None = Field(
        None, description="Verify threshold on the cosine scale (default: model's)."
    )
    snorm_threshold: float | None = Field(None, description="Verify threshold on the AS-norm scale.")
    identify_fir: float = Field(
        0.01, gt=0, lt=1, description="Identify (1:N, open set): share of a stranger's searches allowed to name "
        "somebody; the identify threshold grows with the number enrolled from this (never below verify's)."
    )
    identify_margin_sd: float = Field(
        0.3, ge=0, description="Identify names nobody unless the best beats the runner-up by this many impostor "
        "standard deviations (0.3: about 0.04 cosine, 0.5 AS-norm on CAM++)."
    )
    use_snorm: bool = Field(
        True, description="AS-normalise scores against enrolled speakers (>= 20 of them)."
    )
    min_speech_enrol_s: float = Field(3.0, gt=0, description="Seconds of speech each enrolment take needs.")
    min_speech_verify_s: float = Field(0.5, gt=0, description="Seconds of speech a verification needs.")
    max_clipping_ratio: float = Field(0.01, ge=0, le=1, description="Largest share of clipped samples.")
    min_level_dbfs: float = Field(-60.0, le=0, description="Quietest accepted speech level (refuses noise only).")
    min_snr_db: float = Field(0.0, description="Lowest accepted signal-to-noise ratio (speech above the noise).")
    max_audio_s: float = Field(600.0, gt=0, description="Longest input accepted (seconds).")
    min_enrol_takes: int = Field(3, ge=1, description="Takes an enrolment needs.")
    # Store and keys.
    store_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite in data_dir.")
    master_key_source: Literal["keyring", "file", "passphrase"] = Field(
        "file", description="Where the store's master key lives: file (DATA_DIR/master.key), keyring (the OS "
        "keyring, one entry per data dir) or passphrase (derived, nothing stored); see `vomid config --help`."
    )
    master_key_passphrase: SecretStr | None = Field(
        None, description="For master_key_source=passphrase (VOMID_MASTER_KEY_PASSPHRASE), 8 characters or more."
    )
    site_mode: bool = Field(
        False, description="One of many nodes on one PostgreSQL database (store_url) behind a load balancer: the "
        "database is the truth, no peer replication or zeroconf; each node's 1:N index follows the others' writes."
    )
    node_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,48}$", description="This node's own id in the records and audit chain it "
        "writes (default in site mode: made once and kept in data_dir/node_id; otherwise the store's id)."
    )
    # HTTP node and cluster.
    node_host: str = Field("0.0.0.0", description="Address the HTTP node listens on.")
    node_port: int = Field(8443, ge=1, le=65535, description="Port of the HTTP node.")
    node_tls: bool = Field(True, description="Serve HTTPS; plain HTTP is allowed on loopback only.")
    node_name: str | None = Field(None, description="Human name of this node (default: host name).")
    static_peers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="host:port of peers to use where multicast is blocked (comma list)."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Addresses or networks of reverse proxies whose X-Forwarded-For the node "
        "believes (comma list); empty: none, the node limits and audits the connecting address."
    )
    offload_strategy: OffloadStrategy = Field(
        "least_response_time", description="How a peer is chosen to offload to."
    )
    offload_queue_depth: int = Field(
        1, ge=0, description="In a cluster, send an embedding to a peer when this many already wait for "
        "the local model (vomid_embedding_queue_depth); 0: never. No peer free: computed here."
    )
    rate_limit_per_minute: int = Field(
        peer_const.RATE_PER_KEY_PER_MIN, ge=1, description="Requests per API key per minute."
    )
    verify_lockout_failures: int = Field(
        5, ge=1, description="Failed verifies of one speaker from one client (API key or kiosk) that lock that "
        "client out of that speaker for a while (node, kiosk and CLI alike; the speaker stays active)."
    )
    verify_lockout_window_s: float = Field(300.0, gt=0, description="Window in which those failures count.")
    verify_lockout_s: float = Field(
        60.0, gt=0, description="Length of the first lock; each further lock of the same client and speaker doubles it."
    )
    verify_lockout_max_s: float = Field(3600.0, gt=0, description="Longest lock.")
    # Kiosk app.
    login_mode: Literal["identify", "verify"] = Field(
        "identify", description="Login screen: 1:N or claim + 1:1."
    )
    kiosk_mode: bool = Field(False, description="Full screen, closed only with the admin PIN.")
    kiosk_idle_s: float = Field(
        60.0, gt=0, description="Back to a fresh login screen after this idle time, in every mode (kiosk mode or not)."
    )
    kiosk_result_clear_s: float = Field(
        8.0, gt=0, description="Seconds a sign-in or enrolment result (name, id, score, message) stays on the kiosk "
        "screen before it clears for the next person."
    )
    auto_listen: bool = Field(False, description="Hands-free login: a take starts when someone speaks.")
    language: str | None = Field(None, description="UI language (zh_CN, en); default: the system locale.")
    admin_pin: SecretStr | None = Field(
        None, description="PIN of the admin screen and of enrolment, given in plain (VOMID_ADMIN_PIN); unused once "
        "admin_pin_hash is set. With neither, the kiosk asks the operator to set a PIN at its first start."
    )
    admin_pin_hash: str | None = Field(
        None, description="The admin PIN as the kiosk stores it (scrypt, salted), written when the operator sets or "
        "changes the PIN in the app. Forgotten PIN: remove this line and restart; the kiosk asks for a new one."
    )
    # Logs.
    log_level: LogLevel = Field("INFO", description="Level of the log file and console.")
    log_dir: Path | None = Field(None, description="Folder of the JSON log files (default: data_dir/logs).")
    log_max_bytes: int = Field(10_000_000, ge=65_536, description="Size at which the log file rotates.")
    log_backups: int = Field(5, ge=1, le=100, description="Rotated log files kept.")
    log_console: Literal["text", "json", "off"] = Field("text", description="Console log format.")
    log_to_file: bool = Field(True, description="Write JSON lines to log_dir (rotated, size-capped).")

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        from engine.models.registry import MODELS

        if value not in MODELS:
            raise ValueError(f"unknown model {value!r}; known: {', '.join(sorted(MODELS))}")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("admin_pin", "master_key_passphrase", mode="before")
    @classmethod
    def _secret_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("static_peers", "trusted_proxies", mode="before")
    @classmethod
    def _peer_list(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"trusted proxy {entry!r} is not an IP address or network (e.g. 10.0.0.5, "
                                 "10.0.0.0/24)") from exc
        return value

    @model_validator(mode="after")
    def _site_needs_postgresql(self) -> Settings:
        if self.site_mode and not (self.store_url or "").lower().startswith(("postgresql", "postgres:")):
            raise ValueError("site_mode needs store_url to name the site's PostgreSQL database (postgresql://user@host/db); "
                             "several nodes cannot share a SQLite file")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then environment, then profile, then file; defaults last."""
        init_kwargs = dict(getattr(init_settings, "init_kwargs", {}))
        layers = _layers(settings_cls, init_kwargs, env_settings())
        return (
            init_settings,
            env_settings,
            _DictSource(settings_cls, layers["profile"]),
            _DictSource(settings_cls, layers["file"]),
        )

    @property
    def logs_dir(self) -> Path:
        """Folder of the log files."""
        return self.log_dir or self.data_dir / "logs"

    def engine_config(self, *, model_id: str | None = None) -> EngineConfig:
        """The engine's part of these settings."""
        quality = QualityConfig(
            min_speech_enrol_s=self.min_speech_enrol_s,
            min_speech_verify_s=self.min_speech_verify_s,
            max_clipping_ratio=self.max_clipping_ratio,
            min_level_dbfs=self.min_level_dbfs,
            min_snr_db=self.min_snr_db,
            max_duration_s=self.max_audio_s,
        )
        model = ModelConfig(
            model_id=model_id or self.model,
            model_dir=self.model_dir,
            cache_dir=self.model_cache_dir,
            allow_download=self.allow_download,
            download_timeout_s=self.download_timeout_s,
            threads=self.threads,
            inference=self.inference,
        )
        return EngineConfig(
            model=model,
            quality=quality,
            threshold=self.threshold,
            snorm_threshold=self.snorm_threshold,
            use_snorm=self.use_snorm,
            min_enrol_takes=self.min_enrol_takes,
            identify_fir=self.identify_fir,
            identify_margin_sd=self.identify_margin_sd,
        )

    def public_dict(self) -> dict[str, Any]:
        """Every field as plain JSON-able values, secrets as ``****``."""
        return {name: display_value(getattr(self, name), secret=name in HASHED_SECRETS)
                for name in type(self).model_fields}


class _DictSource(PydanticBaseSettingsSource):
    """A settings source over a ready mapping (the file's or the profile's values)."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = dict(values)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def read_settings_file(path: Path) -> dict[str, Any]:
    """The mapping in a YAML or JSON settings file; relative paths resolve against its folder."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror or exc}") from exc
    try:
        if Path(path).suffix.lower() == ".json":
            data = json.loads(text) if text.strip() else {}
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as exc:  # yaml.YAMLError / json.JSONDecodeError carry the line
        raise SettingsError(f"settings file {path} does not parse: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path} must hold a mapping of setting names to values")
    return _resolve_paths(data, Path(path).resolve().parent)


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make relative values of path fields absolute, against the settings file's folder."""
    path_fields = {"data_dir", "model_dir", "model_cache_dir", "log_dir"}
    out = {str(k): v for k, v in data.items()}
    for name in path_fields & out.keys():
        if isinstance(out[name], str) and out[name] and not Path(out[name]).expanduser().is_absolute():
            out[name] = str(base / out[name])
        elif isinstance(out[name], str):
            out[name] = str(Path(out[name]).expanduser())
    return out


def locate_config_file(flags: Mapping[str, Any], env: Mapping[str, Any]) -> Path | None:
    """The settings file to read: flag, then VOMID_CONFIG, then data_dir/config.yaml if present."""
    explicit = flags.get("config_file") or os.environ.get(CONFIG_ENV) or env.get("config_file")
    if explicit:
        return Path(explicit).expanduser()
    data_dir = Path(flags.get("data_dir") or env.get("data_dir") or default_data_dir()).expanduser()
    for name in DEFAULT_CONFIG_NAMES:
        if (data_dir / name).is_file():
            return data_dir / name
    return None


def _layers(
    settings_cls: type[BaseSettings], flags: Mapping[str, Any], env: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Values each source sets, keyed by source name, lowest precedence first."""
    path = locate_config_file(flags, env)
    file_values = read_settings_file(path) if path is not None else {}
    if path is not None:
        file_values["config_file"] = str(path)
    profile = flags.get("profile") or env.get("profile") or file_values.get("profile") or "production"
    return {
        "default": {},
        "file": file_values,
        "profile": dict(PROFILES.get(str(profile), {})),
        "env": dict(env),
        "flag": dict(flags),
    }


def _env_values() -> dict[str, Any]:
    """The VOMID_* variables pydantic-settings would read, decoded."""
    return EnvSettingsSource(Settings)()


@dataclass(frozen=True)
class SettingOrigin:
    """One setting's effective value and where it came from."""

    name: str
    value: Any
    source: str
    detail: str
    overridden: tuple[tuple[str, Any], ...] = ()
    runtime: bool = False
    secret: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able form, secrets masked."""
        return {
            "name": self.name,
            "value": display_value(self.value, secret=self.secret),
            "source": self.source,
            "detail": self.detail,
            "runtime": self.runtime,
            "secret": self.secret,
            "overridden": [
                {"source": s, "value": display_value(v, secret=self.secret)} for s, v in self.overridden
            ],
        }


def display_value(value: Any, *, secret: bool = False) -> Any:
    """A value as shown to people: secrets ``****``, paths as text."""
    if value is None:
        return None
    if secret or isinstance(value, SecretStr):
        return "****"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [display_value(v) for v in value]
    return value


def _clean(overrides: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in overrides.items() if v is not None}


def _origin_detail(source: str, name: str, layers: Mapping[str, Mapping[str, Any]]) -> str:
    if source == "env":
        return (
            CONFIG_ENV
            if name == "config_file" and os.environ.get(CONFIG_ENV)
            else f"{ENV_PREFIX}{name.upper()}"
        )
    if source == "file":
        return str(layers["file"].get("config_file", ""))
    if source == "profile":
        return str(
            layers["flag"].get("profile")
            or layers["env"].get("profile")
            or layers["file"].get("profile")
            or "production"
        )
    return {"flag": "command line", "default": "built-in"}[source]


def _source_of(name: str, layers: Mapping[str, Mapping[str, Any]]) -> str:
    """The highest-precedence source that set ``name``."""
    for source in reversed(SOURCES):
        if name in layers[source]:
            return source
    return "default"


def explain_settings(**overrides: Any) -> tuple[Settings, list[SettingOrigin]]:
    """Load settings as ``load_settings`` does and say, per field, which source set it."""
    flags = _clean(overrides)
    settings = load_settings(**flags)
    layers = _layers(Settings, flags, _env_values())
    if flags.get("config_file") is None and os.environ.get(CONFIG_ENV):
        layers["env"]["config_file"] = os.environ[CONFIG_ENV]
    origins = []
    for name, info in Settings.model_fields.items():
        source = _source_of(name, layers)
        lower = tuple((s, layers[s][name]) for s in SOURCES[1:] if name in layers[s] and s != source)
        secret = info.annotation is SecretStr or "SecretStr" in str(info.annotation) or name in HASHED_SECRETS
        origins.append(
            SettingOrigin(
                name,
                getattr(settings, name),
                source,
                _origin_detail(source, name, layers),
                lower,
                name in RUNTIME_FIELDS,
                secret,
            )
        )
    return settings, origins


def unknown_env_vars(environ: Mapping[str, str] | None = None) -> list[str]:
    """VOMID_* variables that name no setting (typos); they are ignored."""
    known = {f"{ENV_PREFIX}{n}".upper() for n in Settings.model_fields} | {CONFIG_ENV, "VOMID_SHARED_DATA"}
    return sorted(
        k for k in (environ or os.environ) if k.upper().startswith(ENV_PREFIX) and k.upper() not in known
    )


def _describe_error(exc: ValidationError, flags: Mapping[str, Any]) -> str:
    """One line per invalid field: the field, its source and the reason."""
    try:
        layers = _layers(Settings, flags, _env_values())
    except (SettingsError, ValidationError):
        layers = {s: {} for s in SOURCES}
    lines = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "?"
        source = _source_of(name, layers)
        shown = "****" if "passphrase" in name or "pin" in name else err.get("input")
        where = f"{source} {_origin_detail(source, name, layers)}" if source != "default" else "default"
        reason = "not a known setting" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"invalid setting {name} = {shown!r} (from {where}): {reason}")
    return "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Effective settings, with explicit overrides (CLI flags) on top; SettingsError names a bad field."""
    clean = _clean(overrides)
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(
            _describe_error(exc, clean), details={"errors": exc.errors(include_input=False)}
        ) from exc


def changed_settings(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    """A copy of ``settings`` with runtime-safe ``changes`` applied and validated."""
    refused = sorted(set(changes) - RUNTIME_FIELDS)
    if refused:
        raise SettingsError(
            f"settings that need a restart cannot change at run time: {', '.join(refused)}",
            details={"fields": refused},
        )
    data = {n: getattr(settings, n) for n in type(settings).model_fields} | dict(changes)
    try:
        return Settings.model_validate(data)  # validates every field, reads no other source
    except ValidationError as exc:
        reason = "; ".join(f"{e['loc'][0] if e['loc'] else '?'}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid setting change: {reason}") from exc


Listener = Callable[[Settings, dict[str, tuple[Any, Any]]], None]


class LiveSettings:
    """The running app's settings: runtime-safe fields change in place, audited, listeners told."""

    def __init__(self, settings: Settings, *, audit: Callable[..., None] | None = None) -> None:
        self._settings = settings
        self._audit = audit
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    @property
    def current(self) -> Settings:
        """The settings in force now (an immutable snapshot)."""
        return self._settings

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(new_settings, {field: (old, new)})`` after each change; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def update(self, changes: Mapping[str, Any], *, actor: str) -> dict[str, tuple[Any, Any]]:
        """Apply runtime-safe changes, audit each changed field, tell listeners; returns what changed."""
        with self._lock:
            old = self._settings
            new = changed_settings(old, changes)
            diff = {
                n: (getattr(old, n), getattr(new, n)) for n in changes if getattr(old, n) != getattr(new, n)
            }
            self._settings = new
        for name, (before, after) in diff.items():
            if self._audit is not None:
                self._audit(
                    "setting_changed",
                    actor=actor,
                    setting=name,
                    old=_audit_text(before),
                    new=_audit_text(after),
                )
        for listener in list(self._listeners):
            listener(new, diff)
        return diff


def _audit_text(value: Any) -> str | None:
    """A short text form of a setting value for the audit log."""
    return None if value is None else str(display_value(value))[:200]
