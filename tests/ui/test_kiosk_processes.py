"""Kiosk app processes (`vomid gui --control`, offscreen, real node, real default model) as people meet them.

- A kiosk started on a machine with no network (its own network namespace: not even loopback is up) still
  enrols and signs people in locally, and its status says what is wrong.
- A kiosk whose cluster peer vanishes (SIGKILL) mid-way keeps enrolling; nothing is lost.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from app.commands.bench_kiosks import KioskProcess
from tests.ui.test_admin_cluster import make_kiosk  # noqa: F401 - the fixture, shared with the admin tests

SPEAKER = "1688"


def _files(voices: dict[str, list[Path]], speaker: str) -> list[str]:
    return [str(p) for p in voices[speaker]]


def _unshare_works() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-n", "true"], check=False).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs `unshare -n` (root or user namespaces) for a machine with no network")
def test_a_kiosk_with_no_network_still_enrols_and_signs_in_and_says_why_it_is_alone(tmp_path: Path, voices) -> None:
    kiosk = KioskProcess("offline", "0.0.0.0", tmp_path / "k", Path(voices[SPEAKER][-1]), None,
                         wrapper=["unshare", "-n"])
    try:
        status = kiosk.call("status", timeout=180)
        assert status["ok"] and status["ready"], status
        own = _files(voices, SPEAKER)
        enrolled = kiosk.call("enrol", speaker_id=SPEAKER, name="Ada", files=own[3:5] + own[6:7])
        assert enrolled["ok"] and enrolled["passed"], enrolled
        login = kiosk.call("login", file=own[8], claimed_id=SPEAKER)
        assert (login["ok"], login["decision"]) == (True, "accepted"), login
        impostor = kiosk.call("login", file=_files(voices, "2033")[4], claimed_id=SPEAKER)
        assert impostor["decision"] == "rejected"
        after = kiosk.call("status")
        [me] = after["peer_rows"]
        assert after["peers"] == 0 and after["fault"] is None  # alone and not in a cluster: nothing is wrong
        assert me["self"] and not me["address"].startswith("0.0.0.0")  # never shown as an address to reach
    finally:
        kiosk.stop()
    assert kiosk.proc.returncode == 0, (tmp_path / "k" / "gui.log").read_text()[-3000:]


def test_two_kiosks_form_a_cluster_and_one_without_a_model_offloads_to_the_other(tmp_path: Path, voices) -> None:
    """Kiosk B cannot load its model (an empty model cache); after joining A's cluster with A's token its status
    says that a peer computes its embeddings, and a person enrolled on A signs in on B."""
    audio = Path(voices[SPEAKER][-1])
    a = KioskProcess("a", "127.0.0.21", tmp_path / "a", audio, None)
    b = KioskProcess("b", "127.0.0.22", tmp_path / "b", audio, None,
                     env={"VOMID_MODEL_CACHE_DIR": str(tmp_path / "empty-cache")})
    try:
        assert a.call("status", timeout=180)["ready"]
        alone = b.call("status", timeout=180)
        assert not alone["ready"] and alone["fault"], alone  # says why it cannot sign anyone in
        token = a.call("cluster_create")
        assert token["ok"], token
        wrong = b.call("cluster_join", token=token["token"][:-6] + "AAAAAA")
        assert not wrong["ok"] and wrong["message"]
        joined = b.call("cluster_join", token=token["token"])
        assert joined["ok"], joined
        used_again = b.call("cluster_join", token=token["token"])
        assert not used_again["ok"]  # already in a cluster now: refused with a message
        deadline = 60.0
        import time

        start = time.monotonic()
        while time.monotonic() - start < deadline and not b.call("status")["ready"]:
            time.sleep(0.5)
        status = b.call("status")
        assert status["ready"] and "computed by a peer" in (status["fault"] or ""), status
        own = _files(voices, SPEAKER)
        enrolled = a.call("enrol", speaker_id=SPEAKER, name="Ada", files=own[3:5] + own[6:7])
        assert enrolled["ok"], enrolled
        while time.monotonic() - start < deadline and not b.call("known", speaker_id=SPEAKER)["known"]:
            time.sleep(0.05)
        login = b.call("login", file=own[8], claimed_id=SPEAKER)
        assert (login["ok"], login["decision"]) == (True, "accepted"), login
        impostor = b.call("login", file=_files(voices, "2033")[4], claimed_id=SPEAKER)
        assert impostor["decision"] == "rejected"
        peers = {p["node_id"]: p for p in a.call("status")["peer_rows"]}
        assert len(peers) == 2 and all(p["status"] == "up" for p in peers.values()), peers
    finally:
        a.stop()
        b.stop()


def _cluster_of_two(tmp_path: Path, voices, hosts: tuple[str, str]) -> tuple[KioskProcess, KioskProcess]:
    audio = Path(voices[SPEAKER][-1])
    a = KioskProcess("a", hosts[0], tmp_path / "a", audio, None)
    b = KioskProcess("b", hosts[1], tmp_path / "b", audio, None)
    assert a.call("status", timeout=180)["ready"] and b.call("status", timeout=180)["ready"]
    token = a.call("cluster_create")
    assert token["ok"], (token, a.call("status"), (tmp_path / "a" / "gui.log").read_text()[-3000:])
    assert b.call("cluster_join", token=token["token"])["ok"]
    return a, b


def _until(check, seconds: float = 30.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_two_kiosks_enrolling_one_id_at_once_end_with_one_voiceprint_and_a_later_try_is_told(tmp_path: Path,
                                                                                            voices) -> None:
    """Both kiosks accept the id at the same moment (neither knew of the other's); replication keeps one of the
    two voiceprints on both (the later write), never a different one on each; an enrolment after that is refused
    with 'already enrolled' on either kiosk."""
    import threading

    a, b = _cluster_of_two(tmp_path, voices, ("127.0.0.23", "127.0.0.24"))
    try:
        first, second = _files(voices, "1998"), _files(voices, "3080")
        answers: dict[str, dict] = {}
        threads = [threading.Thread(target=lambda k=k, f=f: answers.setdefault(k.name, k.call(
            "enrol", speaker_id="shared-id", files=f[:3]))) for k, f in ((a, first), (b, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r["ok"] or r["error"] in ("already_enrolled", "EnrolRefused") for r in answers.values()), answers

        def same_voice_on_both() -> bool:
            sa = a.call("login", file=first[5], claimed_id="shared-id")
            sb = b.call("login", file=first[6], claimed_id="shared-id")
            return sa["decision"] == sb["decision"] and sa["decision"] in ("accepted", "rejected")

        assert _until(lambda: a.call("known", speaker_id="shared-id")["known"]
                      and b.call("known", speaker_id="shared-id")["known"])
        assert _until(same_voice_on_both, 30)
        again = b.call("enrol", speaker_id="shared-id", files=first[:3])
        assert not again["ok"] and "already enrolled" in again["message"], again
    finally:
        a.stop()
        b.stop()


def test_a_peer_killed_mid_way_loses_nothing_the_kiosk_enrols_and_signs_in_alone(tmp_path: Path, voices) -> None:
    import os
    import signal

    a, b = _cluster_of_two(tmp_path, voices, ("127.0.0.25", "127.0.0.26"))
    try:
        own = _files(voices, SPEAKER)
        assert _until(lambda: a.call("status")["peers"] == 1, 30)
        os.kill(b.proc.pid, signal.SIGKILL)  # the peer vanishes without a word
        enrolled = a.call("enrol", speaker_id=SPEAKER, files=own[3:5] + own[6:7])
        assert enrolled["ok"], enrolled
        login = a.call("login", file=own[8], claimed_id=SPEAKER)
        assert login["decision"] == "accepted", login
        assert _until(lambda: a.call("status")["peers"] == 0, 30)  # the status bar stops counting it
    finally:
        a.stop()
        b.stop()


def test_a_cluster_created_on_the_admin_screen_is_joined_by_a_kiosk_process_which_signs_in_whom_the_screen_kiosk_enrolled(
        qtbot, make_kiosk, tmp_path: Path, voices) -> None:  # noqa: F811 - the fixture imported above
    """Kiosk W is this process's admin widgets (Create cluster, the token they show); kiosk P is another app process
    that joins with that token (the call its own Join button makes). A person enrolled on W signs in on P, and one
    enrolled on P signs in on W."""
    from app.kiosk.media import decode_file
    from tests.ui.test_admin_cluster import SEE_S, create_cluster

    w = make_kiosk("w", host="127.0.0.27")
    token = create_cluster(qtbot, w)
    p = KioskProcess("p", "127.0.0.28", tmp_path / "p", Path(voices[SPEAKER][-1]), None)
    try:
        assert p.call("status", timeout=180)["ready"]
        joined = p.call("cluster_join", token=token)
        assert joined["ok"], joined
        p_id = p.call("status")["node"]
        qtbot.waitUntil(lambda: (w.peers().get(p_id) or ("", ""))[1] == "up", timeout=SEE_S)

        own = voices[SPEAKER]
        takes = [decode_file(f) for f in (own[3], own[4], own[6])]
        outcome = w.service.enrol(SPEAKER, "Ada", takes, [w.service.check_take(t) for t in takes])
        assert outcome.passed
        assert _until(lambda: p.call("known", speaker_id=SPEAKER)["known"], 30)
        login = p.call("login", file=str(own[8]), claimed_id=SPEAKER)
        assert login["decision"] == "accepted", login

        other = _files(voices, "3080")
        assert p.call("enrol", speaker_id="3080", files=other[:3])["ok"]
        qtbot.waitUntil(lambda: w.service.directory.speaker("3080") is not None, timeout=30_000)
        back = w.service.login(decode_file(other[5]), "3080")
        assert back.decision == "accepted", back
        audit = [(e["event"], e["actor"]) for e in w.service.audit_log() if e["subject"] == "3080"]
        assert ("verify", w.service.actor) in audit  # W's decision, filed once under W
    finally:
        p.stop()
