"""The kiosk's one door to the engine, the speaker directory and the node: plain Python, no Qt."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from app.kiosk.cluster_admin import ClusterAdmin
from app.kiosk.directory import Directory, MemoryDirectory
from app.kiosk.guard import ReplayDetector
from app.kiosk.media import decode_file
from app.kiosk.node import KioskNode
from app.kiosk.types import (
    EnrolOutcome,
    LoginOutcome,
    MeetingResult,
    NodeStatus,
    PeerRow,
    PinChange,
    PinCheck,
    Segment,
    SpeakerRow,
    TakeCheck,
)
from app.settings import Settings
from app.settings_file import SaveResult, save_settings
from engine.errors import AudioError, QualityRejected, UnknownSpeakerError, VomidError
from engine.scoring import mean_of_takes
from engine.waveform import SAMPLE_RATE

if TYPE_CHECKING:  # the engine (and torch) load in a worker after the window shows
    from engine.facade import Engine

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
Opener = Callable[[], "tuple[Directory, KioskNode, str | None]"]
PIN_DIGITS = (4, 12)  # a PIN is 4 to 12 digits
PIN_SUBJECT = "admin_pin"  # what the PIN lockout counts against
# Kiosk option -> the Settings field that holds it (what the admin screen saves into the settings file).
OPTION_FIELDS: Mapping[str, str] = {
    "mode": "login_mode",
    "lock_failures": "verify_lockout_failures",
    "lock_s": "verify_lockout_s",
    "idle_reset_s": "kiosk_idle_s",
    "result_clear_s": "kiosk_result_clear_s",
    "kiosk_mode": "kiosk_mode",
    "language": "language",
    "auto_listen": "auto_listen",
}


class EnrolRefused(Exception):
    """An enrolment the node refused; ``code`` says why (``already_enrolled``) for the screen to explain."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class EnrolFromMeetingError(Exception):
    """A meeting participant's segments do not make a good enrolment; ``code`` says why, with the speech the
    recording holds of them (``speech_s``) and what an enrolment needs (``needed_s``), in seconds."""

    def __init__(self, code: str, speech_s: float = 0.0, needed_s: float = 0.0) -> None:
        super().__init__(code)
        self.code, self.speech_s, self.needed_s = code, speech_s, needed_s


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """``scrypt$<salt hex>$<hash hex>`` of a PIN (what the settings file keeps; never the PIN itself)."""
    import os

    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    """True when ``pin`` hashes to ``stored`` (from :func:`hash_pin`)."""
    import hmac

    try:
        kind, salt, _digest = stored.split("$")
        salt_bytes = bytes.fromhex(salt)
    except ValueError:
        return False
    return kind == "scrypt" and hmac.compare_digest(hash_pin(pin, salt_bytes), stored)


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` cannot be an admin PIN (``pin_format``), or None."""
    low, high = PIN_DIGITS
    return None if pin.isascii() and pin.isdigit() and low <= len(pin) <= high else "pin_format"


@dataclass(frozen=True)
class KioskOptions:
    """Kiosk behaviour that is not engine configuration."""

    mode: Literal["identify", "verify"] = "identify"
    lock_failures: int = 3
    lock_s: float = 60.0
    replay_similarity: float = 0.99
    admin_pin: str | None = None  # given in plain (VOMID_ADMIN_PIN, tests); admin_pin_hash wins when both are set
    admin_pin_hash: str | None = None  # set or changed in the app (see :func:`hash_pin`)
    kiosk_mode: bool = False
    idle_reset_s: float = 60.0
    result_clear_s: float = 8.0  # a result (name, id, score, message) clears after this many seconds
    language: str | None = None
    auto_listen: bool = False  # hands-free login: a take starts when someone speaks

    @classmethod
    def from_settings(cls, settings: Settings) -> KioskOptions:
        """The kiosk options that the app's settings hold."""
        pin = settings.admin_pin.get_secret_value() if settings.admin_pin is not None else None
        return cls(mode=settings.login_mode, lock_failures=settings.verify_lockout_failures,
                   lock_s=settings.verify_lockout_s, kiosk_mode=settings.kiosk_mode,
                   idle_reset_s=settings.kiosk_idle_s, language=settings.language,
                   auto_listen=settings.auto_listen, admin_pin=pin or None, admin_pin_hash=settings.admin_pin_hash,
                   result_clear_s=settings.kiosk_result_clear_s)

    @property
    def pin_set(self) -> bool:
        """True once the operator has set an admin PIN (there is no default PIN)."""
        return bool(self.admin_pin_hash or self.admin_pin)


class KioskService:
    """Enrol, log in, label meetings and administer speakers; every method may run off the GUI thread."""

    def __init__(
        self,
        settings: Settings,
        *,
        options: KioskOptions | None = None,
        directory: Directory | None = None,
        node: KioskNode | None = None,
        model_id: str | None = None,
        opener: Opener | None = None,
        flags: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.flags = dict(flags or {})  # command-line overrides the settings were loaded with
        self.options = options or KioskOptions.from_settings(settings)
        self._opener = opener
        self._directory = directory if directory is not None or opener is not None else MemoryDirectory()
        self._node = node  # built by the opener, or on first use (see :attr:`node`)
        self._model_id = model_id or settings.model
        self._fault: str | None = None
        self._load_lock = threading.Lock()
        self._loading = threading.Event()
        self._loaded_without_model = False
        self._model_fault: str | None = None  # why the model could not load here (until a peer computes for us)
        self.replays = ReplayDetector(self.options.replay_similarity)
        self.cluster = ClusterAdmin(self)  # create or join a cluster, join tokens, remove members
        self._pin_lockout: Any = None  # built on first use (see :meth:`check_pin`)
        if node is not None:
            self._apply_lockout_options()

    # -- life cycle ----------------------------------------------------------------------------
    @property
    def directory(self) -> Directory:
        """The speaker directory; waits (in a worker) while :meth:`load` is still opening it."""
        if self._directory is None:
            self._wait_for_load()
        if self._directory is None:
            raise RuntimeError(self._fault or "the speaker store is not open")
        return self._directory

    def _wait_for_load(self) -> None:
        if self._loading.is_set():
            with self._load_lock:  # held by load() until the store and the model are in
                pass

    @property
    def node(self) -> KioskNode:
        """The kiosk's node (its use cases, server and cluster layer); without an opener or a given node, one with
        no HTTP server over the directory. Building it loads the engine's modules: not on the GUI thread."""
        if self._node is None:
            if self._opener is not None:
                self._wait_for_load()
            if self._node is None:
                self._node = KioskNode(self.settings, self.directory, serve=False)
                self._apply_lockout_options()
        return self._node

    @property
    def actor(self) -> str:
        """Who this kiosk is in the audit log."""
        return f"kiosk:{self.node.node_id}"

    def use_model(self, model: Any, vad: Any = None) -> None:
        """Use an already loaded model (and VAD) over this service's directory instead of loading one."""
        from app.wiring import engine_over

        self.node.start(engine_over(self.settings, model, self.directory, vad=vad))

    def load(self) -> str:
        """Load the model (slow: run in a worker) and start the node; returns the model id."""
        self._loading.set()
        with self._load_lock:
            if self._directory is None and self._opener is not None:
                self._directory, self._node, fault = self._opener()
                self._apply_lockout_options()
                self._fault = fault or self._fault
            if self.node.node.ready:
                return self.model_id
            from app.wiring import build_engine

            try:
                engine = build_engine(self.settings, model_id=self._model_id, gallery=self.directory)
            except VomidError as exc:
                if not self.node.in_cluster:
                    self._model_fault = exc.message
                    self.node.start(None)  # serving all the same (503 model_not_loaded): it can still join a cluster
                    raise
                # a cluster member without a model of its own: peers running it compute the embeddings
                log.error("model %s could not be loaded here (%s); offloading to peers", self._model_id, exc)
                self.node.start(None)
                self._fault = None
                self._loaded_without_model = True
                return self._model_id
            self.node.start(engine)
            return engine.model_id

    def use_offline_model(self) -> None:
        """After the configured model failed to load, use the offline GE2E model for this session."""
        self._model_id = "ge2e"  # its weights ship inside the resemblyzer wheel
        self._model_fault = None

    def note_fault(self, fault: str) -> None:
        """Show this fault in the status bar (e.g. the store could not open)."""
        self._fault = fault

    def close(self) -> None:
        """Stop the node and release the directory."""
        if self._node is not None:
            self._node.stop()
        closer = getattr(self._directory, "close", None)
        if closer is not None:
            closer()

    @property
    def ready(self) -> bool:
        """True once the model is loaded (here, or on a peer this kiosk offloads to)."""
        return self._node is not None and bool(self._node.node.ready)

    @property
    def engine(self) -> Engine:
        """The node's engine; waits (in a worker) while :meth:`load` is still running."""
        if not self.ready:
            self._wait_for_load()
        if not self.ready:
            raise RuntimeError(self._fault or "the voice model is not loaded")
        return self.node.node.engine  # type: ignore[no-any-return]

    @property
    def model_id(self) -> str:
        """Id of the model in use (or being loaded)."""
        model = self._node.node.model_id if self._node is not None else None
        return model or self._model_id  # type: ignore[no-any-return]

    def threshold(self) -> float:
        """The accept threshold on the cosine scale."""
        return self.engine.threshold_for(False)

    def _apply_lockout_options(self) -> None:
        """The kiosk's lockout options are the node's one policy."""
        lockout = self.node.node.lockout
        lockout.failures, lockout.lock_s = int(self.options.lock_failures), float(self.options.lock_s)

    # -- enrolment -----------------------------------------------------------------------------
    def check_take(self, samples: np.ndarray) -> TakeCheck:
        """Run one enrolment take through the enrolment quality gate and embed it."""
        try:
            result = self.engine.embed(samples, SAMPLE_RATE, purpose="enrol")
        except QualityRejected as exc:
            return TakeCheck(False, exc.report.speech_seconds, exc.code, exc.message)
        except AudioError as exc:
            return TakeCheck(False, 0.0, "too_short", exc.message)
        return TakeCheck(True, result.speech_seconds, vector=result.vector)

    def record_consent(self, speaker_id: str, text: str) -> None:
        """Audit that the person was shown (and accepted) this consent text."""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        self.directory.audit("consent_recorded", self.actor, speaker_id=speaker_id, text_sha256=digest)

    def enrol(self, speaker_id: str, name: str | None, takes: Sequence[np.ndarray],
              checks: Sequence[TakeCheck]) -> EnrolOutcome:
        """Enrol through the node's use case (the rules of an HTTP enrolment); confirm each take against the others.

        Raises :class:`EnrolRefused` (``already_enrolled``) when the id already has a voiceprint of this model,
        on this kiosk or (replicated) from another.
        """
        good = [(t, c) for t, c in zip(takes, checks) if c.ok and c.vector is not None]
        needed = self.engine.config.min_enrol_takes
        if len(good) < needed:
            raise ValueError(f"{len(good)} good take(s), {needed} needed")
        from peer import service as usecases
        from peer.errors import SpeakerExistsError

        audio = [{"waveform": t, "sample_rate": SAMPLE_RATE} for t, _ in good]
        try:
            vp, _status = usecases.register(self.node.node, speaker_id, name or None, audio, actor=self.actor)
        except SpeakerExistsError as exc:
            raise EnrolRefused("already_enrolled", exc.message) from exc
        for samples, check in good:
            self.replays.remember(samples, check.vector)
        score = _leave_one_out(vp.takes)
        threshold = self.threshold()
        return EnrolOutcome(speaker_id, name, len(good), vp.speech_seconds, score, threshold, score >= threshold)

    # -- login ---------------------------------------------------------------------------------
    def login(self, samples: np.ndarray, claimed_id: str | None = None) -> LoginOutcome:
        """Identify (or verify a claimed id) from one utterance; refuses locked ids and replays."""
        if claimed_id:
            left = self.node.node.lockout.remaining(claimed_id, self.actor)
            if left > 0:
                return LoginOutcome("locked", claimed_id, code="locked", retry_after_s=left)
        try:
            probe = self.engine.embed(samples, SAMPLE_RATE, purpose="verify")
        except QualityRejected as exc:
            return LoginOutcome("retry", claimed_id, code=exc.code, message=exc.message,
                                speech_seconds=exc.report.speech_seconds)
        except AudioError as exc:
            return LoginOutcome("retry", claimed_id, code="too_short", message=exc.message)
        similarity = self.replays.check(samples, probe.vector)
        if similarity is not None:
            self.directory.audit("replay_refused", self.actor, speaker_id=claimed_id, similarity=round(similarity, 4))
            return LoginOutcome("replay", claimed_id, code="replay", score=similarity)
        return self._verify(samples, claimed_id) if claimed_id else self._identify(samples)

    def _identify(self, samples: np.ndarray) -> LoginOutcome:
        from peer import service as usecases

        audio = {"waveform": samples, "sample_rate": SAMPLE_RATE}
        result = usecases.identify(self.node.node, audio, 1, actor=self.actor)
        best = result.best
        if best is None:
            return LoginOutcome("rejected", threshold=result.threshold, code="not_recognised")
        return LoginOutcome("accepted", best.speaker_id, best.name, best.score, result.threshold)

    def _verify(self, samples: np.ndarray, claimed_id: str) -> LoginOutcome:
        from peer import service as usecases
        from peer.errors import SpeakerLockedError, VerifyLockedError

        audio = {"waveform": samples, "sample_rate": SAMPLE_RATE}
        try:
            result, locked = usecases.verify(self.node.node, claimed_id, audio, actor=self.actor)
        except UnknownSpeakerError:
            return LoginOutcome("rejected", claimed_id, code="unknown_speaker")
        except VerifyLockedError as exc:
            return LoginOutcome("locked", claimed_id, code="locked", retry_after_s=exc.retry_after)
        except SpeakerLockedError:
            return LoginOutcome("rejected", claimed_id, code="speaker_disabled")
        record = self.directory.speaker(claimed_id)
        name = record.name if record is not None else None
        if result.accepted:
            return LoginOutcome("accepted", claimed_id, name, result.score, result.threshold)
        return LoginOutcome("locked" if locked else "rejected", claimed_id, name, result.score, result.threshold,
                            code="locked" if locked else "not_recognised", retry_after_s=locked or None)

    # -- meetings ------------------------------------------------------------------------------
    def label_file(self, path: str, progress: Progress | None = None) -> MeetingResult:
        """Decode and label a meeting recording (slow: run in a worker; cancel through ``progress``)."""
        from pathlib import Path

        samples = decode_file(path)
        return self.label_samples(samples, Path(path).stem, progress)

    def label_samples(self, samples: np.ndarray, uri: str = "room", progress: Progress | None = None) -> MeetingResult:
        """Label recorded room audio."""
        if progress is not None:
            progress("decoded", 0, 1)
        from app.kiosk.meeting import label_meeting

        segments = label_meeting(self.engine, samples, progress)
        return MeetingResult(uri, samples, len(samples) / SAMPLE_RATE, segments)

    def enrol_from_segments(self, speaker_id: str, name: str | None, samples: np.ndarray,
                            segments: Sequence[Segment], *, consent: str) -> EnrolOutcome:
        """Enrol a meeting participant from their segments, cut into the required number of takes, once they
        have accepted ``consent`` (the Enrol screen's text, audited as there; empty: refused, ``consent_needed``)."""
        if not consent.strip():
            raise EnrolFromMeetingError("consent_needed")
        parts = [samples[int(s.start * SAMPLE_RATE):int(s.end * SAMPLE_RATE)] for s in segments]
        speech = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        n = self.engine.config.min_enrol_takes
        needed = n * float(self.settings.min_speech_enrol_s)
        takes = [t for t in np.array_split(speech, n) if len(t)]
        checks = [self.check_take(t) for t in takes]
        bad = [c for c in checks if not c.ok]
        if len(takes) < n or bad:
            heard = sum(c.speech_seconds for c in checks)
            reason = "too_short" if heard < needed or not bad else bad[0].code or "too_short"
            raise EnrolFromMeetingError(reason, heard, needed)
        self.record_consent(speaker_id, consent)
        return self.enrol(speaker_id, name, takes, checks)

    # -- administration ------------------------------------------------------------------------
    @property
    def pin_lockout(self) -> Any:
        """The lockout of wrong admin PINs: the node's one lockout policy (its failures and lengths), counted apart."""
        if self._pin_lockout is None:
            from peer.lockout import Lockout

            self._pin_lockout = Lockout(self.directory, failures=int(self.options.lock_failures),
                                        lock_s=float(self.options.lock_s))
        return self._pin_lockout

    def check_pin(self, pin: str) -> PinCheck:
        """Whether ``pin`` is the admin PIN (true as a bool when it is); wrong ones count toward a time-limited
        lockout, during which even the right PIN is refused. Audited either way (never the PIN)."""
        lockout = self.pin_lockout
        left = lockout.remaining(PIN_SUBJECT, self.actor)
        if left > 0:
            self.directory.audit("admin_pin", self.actor, ok=False, locked=True)
            return PinCheck(False, "locked", retry_after_s=left)
        o = self.options
        if not o.pin_set:
            ok = False
        elif o.admin_pin_hash:
            ok = pin_matches(pin, o.admin_pin_hash)
        else:
            ok = hashlib.sha256(pin.encode()).digest() == hashlib.sha256(str(o.admin_pin).encode()).digest()
        self.directory.audit("admin_pin", self.actor, ok=ok)
        locked = lockout.record(PIN_SUBJECT, ok, client=self.actor, actor=self.actor)
        if ok:
            return PinCheck(True)
        if locked:
            return PinCheck(False, "locked", retry_after_s=locked)
        return PinCheck(False, "wrong_pin" if o.pin_set else "pin_not_set", lock_after=lockout.failures)

    def set_pin(self, new_pin: str, current_pin: str | None = None) -> PinChange:
        """Set the admin PIN (first start) or change it (``current_pin`` must be right): kept hashed in the settings
        file in force, in force at once, audited (never the PIN). File I/O: call it from a worker."""
        problem = pin_problem(new_pin)
        if problem is not None:
            return PinChange(False, problem)
        changing = self.options.pin_set
        if changing:
            check = self.check_pin(current_pin or "")
            if not check:
                return PinChange(False, check.code or "wrong_pin", retry_after_s=check.retry_after_s)
        from dataclasses import replace

        stored = hash_pin(new_pin)
        self.options = replace(self.options, admin_pin_hash=stored)
        result = save_settings(self.settings, {"admin_pin_hash": stored}, flags=self.flags)
        self.directory.audit("admin_pin_changed" if changing else "admin_pin_set", self.actor,
                             saved=result.saved, path=str(result.path))
        return PinChange(True, saved=result.saved, path=str(result.path), error=result.error)

    def speakers(self, query: str = "") -> list[SpeakerRow]:
        """Speakers whose id or name contains ``query`` (case-insensitive)."""
        q = query.strip().lower()
        rows = [SpeakerRow(s.speaker_id, s.name, s.status, tuple(s.models), s.created_at)
                for s in self.directory.list_speakers()]
        return [r for r in rows if not q or q in r.speaker_id.lower() or q in (r.name or "").lower()]

    def set_speaker_status(self, speaker_id: str, status: str) -> None:
        """Enable (active) or disable a speaker."""
        from peer import service as usecases

        usecases.set_status(self.node.node, speaker_id, status, actor=self.actor)

    def delete_speaker(self, speaker_id: str) -> bool:
        """Delete a speaker and their voiceprints."""
        from peer import service as usecases

        return usecases.delete(self.node.node, speaker_id, actor=self.actor)

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest audit entries, newest first."""
        return list(reversed(self.directory.audit_entries()[-limit:]))

    def peers(self) -> list[PeerRow]:
        """This node and the peers it knows, with status, model, latency and load."""
        return self.node.peers()

    def set_threshold(self, threshold: float) -> None:
        """Use this cosine accept threshold from now on (audited)."""
        self.node.node.set_threshold(float(threshold))
        self.directory.audit("threshold_changed", self.actor, threshold=round(float(threshold), 4))

    def save_threshold(self, threshold: float, calibration: Any = None) -> Path:
        """Use this cosine threshold now and from the next start: it goes into ``data_dir/thresholds.json``.

        ``calibration`` (from :meth:`calibrate`) is stored with its trial figures; a typed threshold is stored
        as chosen by the admin, without any. Returns the file written (file I/O: call it from a worker).
        """
        from dataclasses import replace

        from app.wiring import thresholds_path
        from engine.calibration import Calibration, write_threshold

        self.set_threshold(threshold)
        record = (replace(calibration, threshold=float(threshold), normalised=False) if calibration is not None
                  else Calibration(self.model_id, float(threshold), target_far=0.0, far=0.0, frr=0.0, n_trials=0,
                                   n_target=0, source="typed by an admin in the kiosk"))
        path = thresholds_path(self.settings)
        write_threshold(path, record)
        self.directory.audit("threshold_saved", self.actor, path=str(path), threshold=round(float(threshold), 4))
        return path

    def set_options(self, **changes: Any) -> dict[str, Any]:
        """Change kiosk options for this session, each change audited; returns the options that changed."""
        from dataclasses import replace

        old, self.options = self.options, replace(self.options, **changes)
        self._apply_lockout_options()
        changed = {n: getattr(self.options, n) for n in changes if getattr(old, n) != getattr(self.options, n)}
        for name, after in changed.items():
            if not name.startswith("admin_pin"):
                self.directory.audit("setting_changed", self.actor, setting=name, old=str(getattr(old, name)),
                                     new=str(after))
        return changed

    def save_options(self, options: Mapping[str, Any]) -> SaveResult:
        """Write these kiosk options into the settings file in force, for the next start (file I/O: a worker)."""
        fields = {OPTION_FIELDS[n]: v for n, v in options.items() if n in OPTION_FIELDS}
        result = save_settings(self.settings, fields, flags=self.flags)
        if result.saved:
            self.directory.audit("settings_saved", self.actor, path=str(result.path), settings=",".join(sorted(fields)))
        else:
            log.warning("kiosk settings not saved to %s: %s", result.path, result.error)
        return result

    def calibrate(self, trials_path: str, target_far: float, progress: Progress | None = None, *,
                  root: Any = None) -> Any:
        """Choose a threshold at ``target_far`` from a trial list (see :func:`app.kiosk.calibration.calibrate_trials`)."""
        from app.kiosk.calibration import calibrate_trials

        return calibrate_trials(self.engine, trials_path, target_far, progress, root=root)

    def status(self) -> NodeStatus:
        """Node, peers count, model and any fault, for the status bar (cheap: the GUI thread calls it)."""
        node = self._node
        if node is None:  # still starting: the opener builds it in a worker
            return NodeStatus(self.settings.node_name or "-", 0, None, self._fault, pin_unset=not self.options.pin_set)
        peers = [p for p in node.peers() if not p.is_self and p.status == "up"]
        remote = node.offloading_to()
        model_fault = (f"no local model: {remote} embeddings are computed by a peer" if remote is not None
                       else f"no local model: waiting for a peer running {self._model_id}"
                       if not self.ready and self._loaded_without_model else self._model_fault)
        fault = self._fault or node.fault() or model_fault
        return NodeStatus(node.node_id, len(peers), self.model_id if self.ready else None, fault,
                          pin_unset=not self.options.pin_set)


def _leave_one_out(takes: np.ndarray) -> float:
    """Lowest cosine of a take against the normalised mean of the other takes."""
    if len(takes) < 2:
        return 1.0
    scores = []
    for i in range(len(takes)):
        rest = mean_of_takes(np.delete(takes, i, axis=0))
        v = takes[i] / max(float(np.linalg.norm(takes[i])), 1e-12)
        scores.append(float(v @ rest))
    return min(scores)
