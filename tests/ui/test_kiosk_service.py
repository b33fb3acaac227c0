"""The kiosk adapter without Qt: verify mode with lockout, replay refusal, and the node's life cycle.

Tests of decisions use the ``service`` fixture: the default model over the real encrypted store.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from app.kiosk import KioskOptions, KioskService
from app.kiosk.media import decode_file
from app.kiosk.node import KioskNode
from app.settings import Settings


def enrol_fast(service: KioskService, speaker_id: str, files: list[Path]) -> None:
    """Enrol from embeddings taken without the (slow) enrolment gate: these tests are about login rules."""
    from engine.gallery import Voiceprint
    from engine.scoring import mean_of_takes

    takes = np.stack([service.engine.embed(decode_file(f), 16000, purpose=None).vector for f in files])
    service.directory.put(Voiceprint(speaker_id, service.model_id, mean_of_takes(takes), takes, 12.0, name="Ada"))


def test_verify_mode_locks_the_claimed_id_after_repeated_failures(service: KioskService, voices) -> None:
    service.set_options(mode="verify", lock_failures=2, lock_s=600.0)
    enrol_fast(service, "1688", voices["1688"][3:6])
    own = service.login(decode_file(voices["1688"][8]), "1688")
    assert own.decision == "accepted" and own.name == "Ada"
    first = service.login(decode_file(voices["2033"][4]), "1688")
    assert first.decision == "rejected" and first.code == "not_recognised"
    second = service.login(decode_file(voices["2033"][7]), "1688")
    assert second.decision == "locked" and second.retry_after_s == 600.0
    after = service.login(decode_file(voices["1688"][9]), "1688")
    assert after.decision == "locked"  # even the right voice waits until the lock ends
    events = service.audit_log()
    assert any(e["event"] == "login_lockout" for e in events)
    decisions = [(e["event"], e["subject"], e["fields"]["accepted"]) for e in reversed(events) if e["event"] == "verify"]
    assert decisions == [("verify", "1688", True), ("verify", "1688", False), ("verify", "1688", False)]
    assert any(e["event"] == "setting_changed" and e["fields"]["setting"] == "mode" for e in events)


def test_a_replayed_attempt_is_refused_and_audited(service: KioskService, voices) -> None:
    enrol_fast(service, "1688", voices["1688"][3:6])
    attempt = decode_file(voices["1688"][8])
    assert service.login(attempt).decision == "accepted"
    replay = service.login(attempt.copy())
    assert (replay.decision, replay.code) == ("replay", "replay")
    assert service.audit_log()[0]["event"] == "replay_refused"


def test_embedded_node_serves_with_the_app_and_stops_with_it(kiosk_settings: Settings, ge2e_parts) -> None:
    from app.wiring import open_store

    store = open_store(kiosk_settings)
    node = KioskNode(kiosk_settings, store, host="127.0.0.1", port=0, tls=False)
    service = KioskService(kiosk_settings, options=KioskOptions(), directory=store, node=node)
    service.use_model(*ge2e_parts)
    service.load()
    try:
        assert node.url is not None and node.fault() is None
        assert httpx.get(node.url + "/health", timeout=10).status_code == 200
        me = service.peers()[0]
        assert me.is_self and me.model == "ge2e"
        assert service.status().peers == 0
    finally:
        service.close()
    assert node.url is None


def test_calibration_picks_a_threshold_between_targets_and_impostors(service: KioskService, voices,
                                                                    tmp_path: Path) -> None:
    root = voices["1688"][0].parents[2]
    rel = {k: [str(p.relative_to(root)) for p in v] for k, v in voices.items()}
    lines = [f"1 {','.join(rel['1688'][3:6])} {rel['1688'][8]}", f"1 {','.join(rel['3080'][0:3])} {rel['3080'][4]}",
             f"0 {','.join(rel['1688'][3:6])} {rel['2033'][4]}", f"0 {','.join(rel['3080'][0:3])} {rel['2414'][6]}"]
    trials = tmp_path / "site.txt"
    trials.write_text("\n".join(lines) + "\n")
    result = service.calibrate(str(trials), 0.01, root=root)
    assert result.n_trials == 4 and result.far == 0.0 and result.frr == 0.0
    service.set_threshold(result.threshold)
    assert service.threshold() == result.threshold


def test_a_threshold_the_admin_saves_is_in_force_after_a_restart(ge2e_parts, tmp_path: Path) -> None:
    from app.settings import load_settings
    from app.wiring import build_engine, open_store

    settings = load_settings(model="ge2e", data_dir=tmp_path / "data")
    service = KioskService(settings, options=KioskOptions(), directory=open_store(settings))
    service.use_model(*ge2e_parts)
    default = service.threshold()
    path = service.save_threshold(default + 0.05)
    assert service.threshold() == default + 0.05 and path == settings.data_dir / "thresholds.json"
    service.close()
    # the next start reads it back (the same engine build the app uses)
    assert build_engine(settings, model_id="ge2e").threshold_for(False) == pytest.approx(default + 0.05)
