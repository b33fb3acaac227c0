"""Forming a cluster from the admin screens of two kiosks: create on A, join from B with A's token, see each other.

Each kiosk is a real KioskService over its own encrypted store in tmp_path, with its real embedded node serving
HTTPS on 127.0.0.1 (port 0) on the session's CAM++ model; the kiosks find each other by zeroconf on loopback.
The tests click the admin widgets and read what they show; failures must show their words next to the Join
button and leave B out of any cluster, with no half-written cluster folder.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import segno
from PySide6.QtCore import Qt

from app import clustering
from app.kiosk import KioskOptions, KioskService
from app.kiosk.node import KioskNode
from app.settings import Settings
from engine.models.registry import DEFAULT_MODEL
from peer.membership import JoinToken, Membership
from tests.ui.conftest import ADMIN_PIN, chinese, in_chinese
from ui.screens.admin import AdminScreen
from ui.widgets.qr_code import QUIET_ZONE
from ui.workers import Workers

JOIN_S = 60_000  # ms: a join restarts the node (TLS server, zeroconf)
SEE_S = 90_000  # ms: zeroconf and the first health checks; generous, the suite shares 2 cores
PEERS_TAB = 1


@dataclass
class Kiosk:
    """One kiosk: its service (store, node, model) and its admin screen on the peers tab."""

    settings: Settings
    service: KioskService
    admin: AdminScreen
    workers: Workers

    @property
    def node_id(self) -> str:
        return self.service.node.node_id

    @property
    def address(self) -> str:
        url = urlsplit(self.service.node.url)
        return f"{url.hostname}:{url.port}"

    def peers(self) -> dict[str, tuple[str, str]]:
        """The peers table as shown: node cell -> (address, status)."""
        t = self.admin.peers
        return {t.item(r, 0).text(): (t.item(r, 1).text(), t.item(r, 2).text()) for r in range(t.rowCount())}

    def cluster_files(self) -> list[str]:
        """Names in the data folder that belong to a cluster folder (final or staging)."""
        return sorted(p.name for p in self.settings.data_dir.iterdir() if "cluster" in p.name)


@pytest.fixture
def make_kiosk(qtbot, kiosk_settings: Settings, default_parts: tuple[object, object],
               tmp_path: Path) -> Iterator[Callable[..., Kiosk]]:
    """Build kiosks by name; each is closed (node, zeroconf, store, workers) after the test."""
    from app.wiring import open_store

    made: list[Kiosk] = []

    def make(name: str, host: str = "127.0.0.1", node_name: str | None = None) -> Kiosk:
        settings = kiosk_settings.model_copy(update={
            "model": DEFAULT_MODEL, "data_dir": tmp_path / name, "store_url": None, "master_key_source": "file",
            "node_host": host, "node_tls": True, "static_peers": [], "node_name": node_name})
        store = open_store(settings)
        node = KioskNode(settings, store, host=host, port=0, tls=True)
        service = KioskService(settings, options=KioskOptions(admin_pin=ADMIN_PIN), directory=store, node=node)
        service.use_model(*default_parts)
        service.load()
        assert service.node.url, service.status().fault
        workers = Workers()
        admin = AdminScreen(service, workers)
        qtbot.addWidget(admin)
        kiosk = Kiosk(settings, service, admin, workers)
        made.append(kiosk)
        admin.show()
        with qtbot.waitSignal(admin.cluster.state_shown, timeout=10_000):
            admin.tabs.setCurrentIndex(PEERS_TAB)
        return kiosk

    yield make
    for kiosk in made:
        kiosk.admin.stop()
        kiosk.workers.shutdown()
    for kiosk in made:
        kiosk.service.close()


def create_cluster(qtbot, kiosk: Kiosk) -> str:
    """Click Create cluster; returns the first join token it shows."""
    panel = kiosk.admin.cluster
    assert panel.create_btn.isVisible() and not panel.token_btn.isVisible()
    with qtbot.waitSignal(panel.token_shown, timeout=JOIN_S) as shown:
        qtbot.mouseClick(panel.create_btn, Qt.MouseButton.LeftButton)
    assert panel.create_error.text() == ""
    return str(shown.args[0])


def new_token(qtbot, kiosk: Kiosk) -> str:
    """Click New join token; returns the token shown."""
    with qtbot.waitSignal(kiosk.admin.cluster.token_shown, timeout=JOIN_S) as shown:
        qtbot.mouseClick(kiosk.admin.cluster.token_btn, Qt.MouseButton.LeftButton)
    return str(shown.args[0])


def join_fails(qtbot, kiosk: Kiosk, token: str) -> str:
    """Paste ``token`` and click Join; returns the error shown (the join must fail)."""
    panel = kiosk.admin.cluster
    panel.join_input.setText(token)
    with qtbot.waitSignal(panel.error_shown, timeout=JOIN_S) as shown:
        qtbot.mouseClick(panel.join_btn, Qt.MouseButton.LeftButton)
    assert panel.join_error.text() == shown.args[0]
    assert panel.join_btn.isEnabled()
    return str(shown.args[0])


def shown_qr_modules(kiosk: Kiosk) -> list[list[bool]]:
    """Read the QR code back from the pixels the admin screen shows: the centre of each module, dark or not."""
    qr = kiosk.admin.cluster.qr
    image = qr.pixmap().toImage()
    modules = image.width() // qr.scale - 2 * QUIET_ZONE
    half = qr.scale // 2
    border = [image.pixelColor(x, 2).lightness() for x in range(image.width())]
    assert min(border) > 200  # the quiet zone is light
    return [[image.pixelColor((QUIET_ZONE + x) * qr.scale + half, (QUIET_ZONE + y) * qr.scale + half).lightness() < 128
             for x in range(modules)] for y in range(modules)]


def test_two_kiosks_form_a_cluster_see_each_other_and_remove_a_member(qtbot, make_kiosk) -> None:
    a, b = make_kiosk("a"), make_kiosk("b")
    assert not a.admin.cluster.state.in_cluster and not a.admin.cluster.remove_bar.isVisible()
    token = create_cluster(qtbot, a)
    assert a.admin.cluster.token_text.text() == token and token.startswith("VOMID1.")
    assert JoinToken.decode(token).address == a.address  # a reachable address, the port the node serves on
    expected = [[bool(v) for v in row] for row in segno.make(token, error="m").matrix]
    assert shown_qr_modules(a) == expected  # the QR code on screen is the token's
    state_a = a.admin.cluster.state
    assert state_a.in_cluster and state_a.node_id == a.node_id
    assert state_a.cluster_id in a.admin.cluster.state_label.text()
    assert a.admin.cluster.token_btn.isVisible() and not a.admin.cluster.join_btn.isVisible()

    b.admin.cluster.join_input.setText(token)
    with qtbot.waitSignal(b.admin.cluster.state_shown, timeout=JOIN_S,
                          check_params_cb=lambda s: s.in_cluster):
        qtbot.mouseClick(b.admin.cluster.join_btn, Qt.MouseButton.LeftButton)
    assert b.admin.cluster.join_error.text() == ""
    assert b.admin.cluster.state.cluster_id == state_a.cluster_id
    assert b.admin.cluster.join_input.text() == "" and b.admin.cluster.token_btn.isVisible()

    qtbot.waitUntil(lambda: a.peers().get(b.node_id) == (b.address, "up"), timeout=SEE_S)
    qtbot.waitUntil(lambda: b.peers().get(a.node_id) == (a.address, "up"), timeout=SEE_S)
    me = a.admin.tr(" (this node)")
    assert a.peers()[a.node_id + me][0] == a.address and "0.0.0.0" not in a.peers()[a.node_id + me][0]
    events = {e["event"] for e in a.service.audit_log()}
    assert {"cluster_created", "cluster_token_issued"} <= events
    assert "cluster_joined" in {e["event"] for e in b.service.audit_log()}

    # Remove member: not for this kiosk's own row; for B's row, B is revoked and leaves A's table
    panel = a.admin.cluster
    assert a.admin.select_peer(a.node_id) and not panel.remove_btn.isEnabled()
    assert a.admin.select_peer(b.node_id) and panel.remove_btn.isEnabled()
    panel.confirm_remove = lambda node_id: node_id == b.node_id
    with qtbot.waitSignal(panel.removed, timeout=JOIN_S):
        qtbot.mouseClick(panel.remove_btn, Qt.MouseButton.LeftButton)
    assert panel.remove_error.text() == ""  # told to the running node, which spreads it
    assert b.node_id in Membership(clustering.cluster_dir(a.settings)).revoked
    qtbot.waitUntil(lambda: b.node_id not in a.peers(), timeout=SEE_S)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_wrong_used_unreachable_and_forged_tokens_say_why_and_leave_b_out(qtbot, make_kiosk,
                                                                          tmp_path: Path) -> None:
    a, b = make_kiosk("a"), make_kiosk("b")
    used = create_cluster(qtbot, a)
    spender = b.settings.model_copy(update={"data_dir": tmp_path / "spender"})
    clustering.join(spender, "spender", used, ["127.0.0.1"])  # another node joined with it: the token is spent
    fresh = JoinToken.decode(new_token(qtbot, a))
    not_a_token = "This is not a join token: copy the whole token from the other kiosk (it starts with VOMID1.)."

    assert join_fails(qtbot, b, "hello") == not_a_token
    assert join_fails(qtbot, b, used[:40]) == not_a_token  # cut short while copying
    assert join_fails(qtbot, b, used) == ("This token was already used or has expired: ask for a new one on the other "
                                          "kiosk.")
    nowhere = f"127.0.0.1:{closed_port()}"
    assert join_fails(qtbot, b, JoinToken(nowhere, fresh.ca_fingerprint, fresh.secret).encode()) == (
        f"Could not reach kiosk at {nowhere}: is it on and on this network?")
    # A answers (and spends the token), but not with the CA the token names: nothing may be written on B
    forged = JoinToken(fresh.address, "00" * 32, fresh.secret).encode()
    assert join_fails(qtbot, b, forged).startswith(f"The kiosk at {a.address} answered for another cluster")
    assert b.cluster_files() == []  # no cluster folder, no staging folder left behind
    assert not b.admin.cluster.state.in_cluster and b.admin.cluster.create_btn.isVisible()
    assert b.service.node.url is not None  # still serving

    b.admin.cluster.join_input.setText(new_token(qtbot, a))  # and B can still join
    with qtbot.waitSignal(b.admin.cluster.state_shown, timeout=JOIN_S, check_params_cb=lambda s: s.in_cluster):
        qtbot.mouseClick(b.admin.cluster.join_btn, Qt.MouseButton.LeftButton)
    assert b.cluster_files() == ["cluster"]


def test_a_kiosk_in_a_cluster_cannot_create_or_join_another(make_kiosk, qtbot) -> None:
    a = make_kiosk("a")
    token = create_cluster(qtbot, a)
    with pytest.raises(clustering.AlreadyInClusterError):
        a.service.cluster.create()
    with pytest.raises(clustering.AlreadyInClusterError):
        a.service.cluster.join(token)
    assert a.admin.cluster.error_text(clustering.AlreadyInClusterError("x")) == "This kiosk is already in a cluster."


def test_a_kiosk_named_so_that_no_member_accepts_it_says_so_and_writes_nothing(qtbot, make_kiosk) -> None:
    a = make_kiosk("a", node_name="Front desk")
    assert a.node_id == "Front desk"
    with qtbot.waitSignal(a.admin.cluster.error_shown, timeout=JOIN_S) as shown:
        qtbot.mouseClick(a.admin.cluster.create_btn, Qt.MouseButton.LeftButton)
    assert shown.args[0] == ("This kiosk's name Front desk cannot name a cluster member: use letters, digits, '_', "
                             "':' or '-' only (setting node_name).")
    assert a.admin.cluster.create_error.text() == shown.args[0] and a.cluster_files() == []


def test_a_kiosk_listening_on_every_interface_gives_its_network_address_or_says_it_has_none(qtbot,
                                                                                          make_kiosk) -> None:
    a = make_kiosk("a", host="0.0.0.0")
    port = urlsplit(a.service.node.url).port
    lan = clustering.lan_address()
    panel = a.admin.cluster
    if lan is None:  # a machine without a network: nothing to give another kiosk, and nothing written
        with qtbot.waitSignal(panel.error_shown, timeout=JOIN_S) as shown:
            qtbot.mouseClick(panel.create_btn, Qt.MouseButton.LeftButton)
        assert shown.args[0] == "This kiosk is not connected to a network: connect it and try again."
        assert a.cluster_files() == []
        return
    with socket.socket() as s:
        s.bind((lan, 0))  # an address of this machine
    token = create_cluster(qtbot, a)
    assert JoinToken.decode(token).address == f"{lan}:{port}"
    me = a.node_id + a.admin.tr(" (this node)")
    qtbot.waitUntil(lambda: me in a.peers(), timeout=10_000)
    assert a.peers()[me][0] == f"{lan}:{port}"


def test_the_cluster_controls_and_their_errors_speak_chinese_in_zh_cn(qtbot, make_kiosk) -> None:
    with chinese():
        a = make_kiosk("a")
        panel = a.admin.cluster
        assert panel.create_btn.text() == "创建集群" and panel.join_btn.text() == "加入"
        error = clustering.UnreachableError("x", details={"address": "10.0.0.5:8443"})
        assert panel.error_text(error) == "无法连接位于 10.0.0.5:8443 的终端：它是否已开机并接入同一网络？"


def _cluster_errors() -> list[type[clustering.ClusterError]]:
    """Every error the cluster layer can hand the admin screen."""
    found, todo = [], [clustering.ClusterError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def test_every_cluster_error_is_told_in_the_screens_words_in_english_and_chinese(qtbot, make_kiosk) -> None:
    """No error falls back to the layer's own English message (which zh_CN readers would get untranslated)."""
    errors = [cls("layer message", details={"address": "10.0.0.5:8443", "reason": "why"}) for cls in _cluster_errors()]
    assert {e.code for e in errors} >= {"not_cluster_admin", "token_expired", "bad_token", "unreachable"}
    a = make_kiosk("a")
    for e in errors:
        assert a.admin.cluster.error_text(e) != "layer message", e.code
    with chinese():
        b = make_kiosk("b")
        for e in errors:
            text = b.admin.cluster.error_text(e)
            assert in_chinese(text), (e.code, text)


def test_a_kiosk_serving_no_node_reads_local_only_in_chinese(qtbot, make_kiosk) -> None:
    with chinese():
        a = make_kiosk("a")
        statuses = ("serving", "up", "loading", "stopped", "down", "unreachable", "local only")
        shown = {s: a.admin._peer_status(s) for s in statuses}
        assert shown["local only"] == "仅本机"
        assert all(in_chinese(text) for text in shown.values()), shown


def test_a_token_made_for_one_kiosk_on_the_screen_admits_only_that_kiosk(qtbot, make_kiosk) -> None:
    a, b, c = make_kiosk("a"), make_kiosk("b", node_name="lobby-b"), make_kiosk("c", node_name="lobby-c")
    assert "(lobby-b)" in b.admin.cluster.state_label.text()  # the name to give the admin kiosk
    create_cluster(qtbot, a)
    panel = a.admin.cluster
    panel.token_for.setText("not a name!")
    with qtbot.waitSignal(panel.error_shown, timeout=JOIN_S) as shown:
        qtbot.mouseClick(panel.token_btn, Qt.MouseButton.LeftButton)
    assert shown.args[0].startswith("not a name! cannot name a kiosk")
    panel.token_for.setText(" lobby-b ")
    token = new_token(qtbot, a)
    assert JoinToken.decode(token).node_id == "lobby-b"
    assert join_fails(qtbot, c, token) == ("This token is for the kiosk named lobby-b, not this one (lobby-c): ask for "
                                           "a token for this kiosk.")
    assert c.cluster_files() == []
    b.admin.cluster.join_input.setText(token)
    with qtbot.waitSignal(b.admin.cluster.state_shown, timeout=JOIN_S, check_params_cb=lambda s: s.in_cluster):
        qtbot.mouseClick(b.admin.cluster.join_btn, Qt.MouseButton.LeftButton)
    issued = [e for e in a.service.audit_log() if e["event"] == "cluster_token_issued"]
    assert any("lobby-b" in str(e) for e in issued)
