"""The admin screen's cluster controls: create a cluster, show a join token (text and QR code), join, remove a member.

Every operation runs in a worker (``service.cluster`` does file and network work and restarts the node); its
error comes back as a :class:`app.clustering.ClusterError` and is shown, in words, next to the control it came from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.clustering import ClusterError, Removal
from app.kiosk import KioskService, PeerRow
from app.kiosk.cluster_admin import ClusterState
from ui import style
from ui.widgets.qr_code import QrCodeView
from ui.workers import Workers

log = logging.getLogger(__name__)


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("error")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet(f"color: {style.BAD}; background: transparent;")
    return label


class ClusterPanel(QWidget):
    """Cluster state and controls above the peers table; ``remove_bar`` goes below it."""

    state_shown = Signal(object)  # ClusterState
    token_shown = Signal(str)
    error_shown = Signal(str)
    removed = Signal(str)

    def __init__(self, service: KioskService, workers: Workers, selected_peer: Callable[[], PeerRow | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.selected_peer = selected_peer
        self.confirm_remove: Callable[[str], bool] = self._confirm_remove
        self.state: ClusterState | None = None
        self._busy = False
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.create_btn = QPushButton(self.tr("Create cluster"))
        self.create_error = _error_label()
        self.token_btn = QPushButton(self.tr("New join token"))
        self.token_error = _error_label()
        self.token_for = QLineEdit()
        self.token_for.setPlaceholderText(self.tr("Only for kiosk (its name; optional)"))
        self.token_for.setToolTip(self.tr("A token made for one kiosk admits no other, even if someone else reads "
                                          "it off this screen. The kiosk shows its name on its Peers tab."))
        self.token_text = QLineEdit(readOnly=True)
        self.token_text.setPlaceholderText(self.tr("A one-time token for one more kiosk"))
        self.qr = QrCodeView(scale=4)
        self.join_input = QLineEdit()
        self.join_input.setPlaceholderText(self.tr("Paste or type the join token from a kiosk of the cluster"))
        self.join_btn = QPushButton(self.tr("Join"))
        self.join_error = _error_label()
        self.remove_btn = QPushButton(self.tr("Remove member"))
        self.remove_error = _error_label()
        self.create_btn.clicked.connect(self.create)
        self.token_btn.clicked.connect(self.new_token)
        self.join_btn.clicked.connect(self.join)
        self.join_input.returnPressed.connect(self.join)
        self.remove_btn.clicked.connect(self.remove_selected)
        self._lay_out()
        self._show_state(None)

    def _lay_out(self) -> None:
        controls = QVBoxLayout()
        for row in ((self.create_btn, self.create_error), (self.join_input, self.join_btn), (self.join_error,),
                    (self.token_btn, self.token_for), (self.token_text,), (self.token_error,)):
            line = QHBoxLayout()
            for w in row:
                line.addWidget(w, 1 if w in (self.create_error, self.join_input, self.token_text, self.join_error,
                                             self.token_error, self.token_for) else 0)
            controls.addLayout(line)
        controls.addStretch(1)
        row = QHBoxLayout()
        row.addLayout(controls, 1)
        row.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.state_label)
        lay.addLayout(row)
        self.remove_bar = QWidget()
        bar = QHBoxLayout(self.remove_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.remove_btn)
        bar.addWidget(self.remove_error, 1)

    # -- state ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read whether this kiosk is in a cluster (worker)."""
        self.workers.submit(self.service.cluster.state, on_done=self._show_state,
                            on_failed=lambda e: self._fail(self.state_label, e))

    def _show_state(self, state: ClusterState | None) -> None:
        self.state = state
        member = state is not None and state.in_cluster
        if state is None:
            self.state_label.setText("")
        elif member:
            self.state_label.setText(self.tr("In cluster %1. This kiosk is %2, reached at %3.")
                                     .replace("%1", state.cluster_id or "?").replace("%2", state.node_id)
                                     .replace("%3", state.address or self.tr("(not serving)")))
        else:
            self.state_label.setText(self.tr("This kiosk (%1) is not in a cluster. Create one here, or join one with "
                                             "a token from a kiosk that is.").replace("%1", state.node_id))
        for w in (self.create_btn, self.create_error, self.join_input, self.join_btn, self.join_error):
            w.setVisible(state is not None and not member)
        for w in (self.token_btn, self.token_for, self.token_text, self.token_error, self.qr, self.remove_bar):
            w.setVisible(member)
        if not member:
            self._show_token("")
        self._enable()
        if state is not None:
            self.state_shown.emit(state)

    def _enable(self) -> None:
        for b in (self.create_btn, self.token_btn, self.join_btn):
            b.setEnabled(not self._busy)
        self.update_remove()

    def update_remove(self) -> None:
        """Remove is for another kiosk's row only."""
        row = self.selected_peer()
        self.remove_btn.setEnabled(not self._busy and row is not None and not row.is_self)

    def _start(self, error: QLabel) -> None:
        self._busy = True
        error.clear()
        self._enable()

    def _end(self) -> None:
        self._busy = False
        self._enable()

    def _fail(self, label: QLabel, exc: BaseException) -> None:
        self._end()
        text = self.error_text(exc)
        label.setText(text)
        self.error_shown.emit(text)

    # -- operations ----------------------------------------------------------------------------
    def create(self) -> None:
        """Create a cluster with this kiosk, then show a first join token."""
        self._start(self.create_error)
        self.workers.submit(self.service.cluster.create, on_done=self._created,
                            on_failed=lambda e: self._fail(self.create_error, e), write=True)

    def _created(self, state: ClusterState) -> None:
        self._end()
        self._show_state(state)
        self.new_token()

    def new_token(self) -> None:
        """Make a one-time join token and show it as text and as a QR code."""
        self._start(self.token_error)
        self.workers.submit(self.service.cluster.new_token, self.token_for.text(), on_done=self._token_made,
                            on_failed=lambda e: self._fail(self.token_error, e), write=True)

    def _token_made(self, token: str) -> None:
        self._end()
        self._show_token(token)
        self.token_shown.emit(token)

    def _show_token(self, token: str) -> None:
        self.token_text.setText(token)
        self.token_text.setCursorPosition(0)
        self.qr.set_text(token)

    def join(self) -> None:
        """Join the cluster the pasted token names."""
        if self._busy:
            return
        self._start(self.join_error)
        self.workers.submit(self.service.cluster.join, self.join_input.text(), on_done=self._joined,
                            on_failed=lambda e: self._fail(self.join_error, e), write=True)

    def _joined(self, state: ClusterState) -> None:
        self._end()
        self.join_input.clear()
        self._show_state(state)

    def _confirm_remove(self, node_id: str) -> bool:
        answer = QMessageBox.question(self, self.tr("Remove member"),
                                      self.tr("Remove %1 from the cluster? Its certificate is revoked on every "
                                              "member; it can only come back with a new token.")
                                      .replace("%1", node_id))
        return answer == QMessageBox.StandardButton.Yes

    def remove_selected(self) -> None:
        """Remove the selected peer (never this kiosk) after confirmation."""
        row = self.selected_peer()
        if row is None or row.is_self:
            self.remove_error.setText(self.tr("Select another kiosk's row first."))
            return
        if not self.confirm_remove(row.node_id):
            return
        self._start(self.remove_error)
        self.workers.submit(self.service.cluster.remove, row.node_id, on_done=self._removed,
                            on_failed=lambda e: self._fail(self.remove_error, e), write=True)

    def _removed(self, removal: Removal) -> None:
        self._end()
        if not removal.spread:
            self.remove_error.setText(self.tr("Removed %1 here; the other members learn it when this kiosk's node "
                                              "runs again.").replace("%1", removal.node_id))
        self.removed.emit(removal.node_id)

    # -- words ---------------------------------------------------------------------------------
    def error_text(self, exc: BaseException) -> str:
        """What to tell the admin about a failed cluster operation."""
        if not isinstance(exc, ClusterError):
            log.error("cluster operation failed: %r", exc)
            return self.tr("Something went wrong: %1").replace("%1", str(exc))
        subject = str(exc.details.get("address") or exc.details.get("node_id") or "?")
        texts = {
            "bad_token": self.tr("This is not a join token: copy the whole token from the other kiosk "
                                 "(it starts with VOMID1.)."),
            "token_refused": self.tr("This token was already used or has expired: ask for a new one on the other "
                                     "kiosk."),
            "unreachable": self.tr("Could not reach kiosk at %1: is it on and on this network?"),
            "no_network": self.tr("This kiosk is not connected to a network: connect it and try again."),
            "not_a_node": self.tr("Something answered at %1, but not a kiosk: check the token."),
            "member_not_in_cluster": self.tr("The kiosk at %1 is not in a cluster any more: ask a member of the "
                                             "cluster for a new token."),
            "wrong_cluster": self.tr("The kiosk at %1 answered for another cluster than the token names. Nothing "
                                     "was changed: ask for a new token."),
            "join_refused": self.tr("The kiosk at %1 refused the join: %2"),
            "already_in_cluster": self.tr("This kiosk is already in a cluster."),
            "not_in_cluster": self.tr("This kiosk is not in a cluster: create one or join one first."),
            "not_serving": self.tr("This kiosk's node is not serving (the status bar says why), so it cannot be a "
                                   "cluster member."),
            "cannot_remove_self": self.tr("A kiosk cannot remove itself: remove it from another member."),
            "token_for_another_kiosk": self.tr("This token is for the kiosk named %1, not this one (%3): ask for a "
                                               "token for this kiosk."),
            "invalid_token_target": self.tr("%1 cannot name a kiosk: a kiosk's name has letters, digits, '_', ':' "
                                            "or '-' only (its Peers tab shows it)."),
            "not_cluster_admin": self.tr("Only the kiosk that created the cluster makes join tokens: make one there."),
            "token_expired": self.tr("This join token has expired (a token lasts one hour): ask for a new one on "
                                     "the other kiosk."),
            "invalid_node_id": self.tr("This kiosk's name %1 cannot name a cluster member: use letters, digits, "
                                       "'_', ':' or '-' only (setting node_name)."),
        }
        text = texts.get(exc.code)
        if text is None:
            return exc.message
        return (text.replace("%1", subject).replace("%2", str(exc.details.get("reason") or exc.message))
                .replace("%3", str(exc.details.get("this_node") or "?")))
