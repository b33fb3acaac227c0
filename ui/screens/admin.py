"""Administration (behind the PIN): speakers, peers (live) and the cluster, settings, audit log, calibration."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.kiosk import KioskService, PeerRow, SpeakerRow
from ui.audit_text import details_text, event_text, when_text
from ui.screens.admin_cluster import ClusterPanel
from ui.screens.admin_settings import CalibrationTab, SettingsTab
from ui.workers import Workers

log = logging.getLogger(__name__)


def fill_table(table: QTableWidget, rows: Sequence[Sequence[Any]]) -> None:
    """Replace a table's rows with these values."""
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem("" if value is None else str(value)))


def make_table(headers: list[str]) -> QTableWidget:
    """A read-only, row-selecting table with stretched columns."""
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return t


class AdminScreen(QWidget):
    """Tabs for speakers, peers, settings, audit and calibration; ``changed`` after each write."""

    changed = Signal()
    peers_shown = Signal(object)

    def __init__(self, service: KioskService, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.confirm_delete = self._confirm_delete
        self.tabs = QTabWidget()
        self.tabs.addTab(self._speakers_tab(), self.tr("Speakers"))
        self.tabs.addTab(self._peers_tab(), self.tr("Peers"))
        self.settings_tab = SettingsTab(service, workers)
        self.tabs.addTab(self.settings_tab, self.tr("Settings"))
        self.tabs.addTab(self._audit_tab(), self.tr("Audit log"))
        self.calibration_tab = CalibrationTab(service, workers)
        self.tabs.addTab(self.calibration_tab, self.tr("Calibration"))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(48, 28, 48, 20)
        title = QLabel(self.tr("Administration"))
        title.setObjectName("title")
        lay.addWidget(title)
        lay.addWidget(self.tabs, 1)
        self._peer_timer = QTimer(self, interval=2000, timeout=self.refresh_peers)
        self.tabs.currentChanged.connect(lambda _i: self.refresh())

    # -- speakers ------------------------------------------------------------------------------
    def _speakers_tab(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        row = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search by id or name"))
        self.search.textChanged.connect(lambda _t: self.refresh_speakers())
        row.addWidget(self.search, 1)
        self.enable_btn = QPushButton(self.tr("Enable"))
        self.disable_btn = QPushButton(self.tr("Disable"))
        self.delete_btn = QPushButton(self.tr("Delete"))
        self.enable_btn.clicked.connect(lambda: self._status("active"))
        self.disable_btn.clicked.connect(lambda: self._status("disabled"))
        self.delete_btn.clicked.connect(self.delete_selected)
        for b in (self.enable_btn, self.disable_btn, self.delete_btn):
            row.addWidget(b)
        lay.addLayout(row)
        self.speakers = make_table([self.tr("Id"), self.tr("Name"), self.tr("Status"), self.tr("Models"),
                                    self.tr("Enrolled")])
        lay.addWidget(self.speakers, 1)
        return page

    def refresh_speakers(self) -> None:
        """Reload the speakers table (worker)."""
        self.workers.submit(self.service.speakers, self.search.text(), on_done=self._show_speakers)

    def _show_speakers(self, rows: list[SpeakerRow]) -> None:
        fill_table(self.speakers, [(r.speaker_id, r.name, self._status_text(r.status), ", ".join(r.models),
                                    dt.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M")) for r in rows])

    def _status_text(self, status: str) -> str:
        return {"active": self.tr("active"), "disabled": self.tr("disabled"), "locked": self.tr("locked")}.get(
            status, status)

    def selected_speaker(self) -> str | None:
        """Id in the selected row."""
        row = self.speakers.currentRow()
        item = self.speakers.item(row, 0) if row >= 0 else None
        return item.text() if item else None

    def select_speaker(self, speaker_id: str) -> bool:
        """Select the row of ``speaker_id``."""
        for r in range(self.speakers.rowCount()):
            if self.speakers.item(r, 0).text() == speaker_id:
                self.speakers.selectRow(r)
                return True
        return False

    def _status(self, status: str) -> None:
        sid = self.selected_speaker()
        if sid:
            self.workers.submit(self.service.set_speaker_status, sid, status, on_done=self._written, write=True)

    def _confirm_delete(self, speaker_id: str) -> bool:
        answer = QMessageBox.question(self, self.tr("Delete speaker"),
                                      self.tr("Delete %1 and their voiceprints? This cannot be undone.")
                                      .replace("%1", speaker_id))
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> None:
        """Delete the selected speaker after confirmation."""
        sid = self.selected_speaker()
        if sid and self.confirm_delete(sid):
            self.workers.submit(self.service.delete_speaker, sid, on_done=self._written, write=True)

    def _written(self, _result: object) -> None:
        self.refresh_speakers()
        self.changed.emit()

    # -- peers ---------------------------------------------------------------------------------
    def _peers_tab(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.peer_rows: list[PeerRow] = []
        self.peers = make_table([self.tr("Node"), self.tr("Address"), self.tr("Status"), self.tr("Model"),
                                 self.tr("Latency (ms)"), self.tr("Load")])
        self.cluster = ClusterPanel(self.service, self.workers, self.selected_peer)
        self.cluster.removed.connect(lambda _node_id: self.refresh_peers())
        self.cluster.state_shown.connect(lambda _state: self.refresh_peers())
        self.peers.itemSelectionChanged.connect(self.cluster.update_remove)
        lay.addWidget(self.cluster)
        lay.addWidget(self.peers, 1)
        lay.addWidget(self.cluster.remove_bar)
        hint = QLabel(self.tr("Refreshed every 2 seconds while shown."))
        hint.setObjectName("hint")
        lay.addWidget(hint)
        return page

    def refresh_peers(self) -> None:
        """Reload the peers table (worker)."""
        self.workers.submit(self.service.cluster.peers, on_done=self._show_peers)

    def _show_peers(self, rows: list[PeerRow]) -> None:
        selected = self.selected_peer()
        self.peer_rows = list(rows)
        fill_table(self.peers, [(r.node_id + (self.tr(" (this node)") if r.is_self else ""), r.address,
                                 self._peer_status(r.status),
                                 r.model, "" if r.latency_ms is None else f"{r.latency_ms:.0f}",
                                 "" if r.load is None else f"{r.load:g}") for r in rows])  # queued embeddings
        if selected is not None:
            self.select_peer(selected.node_id)
        self.cluster.update_remove()
        self.peers_shown.emit(rows)

    def selected_peer(self) -> PeerRow | None:
        """The peer in the selected row of the peers table."""
        rows = self.peers.selectionModel().selectedRows()
        index = rows[0].row() if rows else -1
        return self.peer_rows[index] if 0 <= index < len(self.peer_rows) else None

    def select_peer(self, node_id: str) -> bool:
        """Select the row of ``node_id`` in the peers table."""
        for r, row in enumerate(self.peer_rows):
            if row.node_id == node_id:
                self.peers.selectRow(r)
                return True
        self.peers.clearSelection()
        return False

    def _peer_status(self, status: str) -> str:
        return {"serving": self.tr("serving"), "up": self.tr("up"), "loading": self.tr("loading"),
                "stopped": self.tr("stopped"), "down": self.tr("down"), "unreachable": self.tr("unreachable"),
                "local only": self.tr("local only")}.get(status, status)

    # -- audit ---------------------------------------------------------------------------------
    def _audit_tab(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.audit = make_table([self.tr("Date and time"), self.tr("Event"), self.tr("Actor"), self.tr("Subject"),
                                 self.tr("Details")])
        header = self.audit.horizontalHeader()
        for column in range(4):  # dates, events, actors and ids are shown whole; details take the rest
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.audit.setWordWrap(True)
        lay.addWidget(self.audit, 1)
        return page

    def refresh_audit(self) -> None:
        """Reload the newest audit entries (worker)."""
        self.workers.submit(self.service.audit_log, on_done=self._show_audit)

    def _show_audit(self, rows: list[dict[str, Any]]) -> None:
        fill_table(self.audit, [(when_text(r["ts"]), event_text(r["event"]), r["actor"], r.get("subject"),
                                 details_text(r.get("fields") or {})) for r in rows])
        for row in range(self.audit.rowCount()):  # the whole entry on hover: long details are never lost
            for column in (1, 4):
                item = self.audit.item(row, column)
                if item is not None:
                    item.setToolTip(item.text())

    # -- visibility ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload what the current tab shows; peers refresh live while their tab is shown."""
        index = self.tabs.currentIndex()
        if index == 1:
            self.cluster.refresh()
            self.refresh_peers()
            self._peer_timer.start()
        else:
            self._peer_timer.stop()
        {0: self.refresh_speakers, 3: self.refresh_audit, 2: self.settings_tab.load}.get(index, lambda: None)()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.refresh()

    def stop(self) -> None:
        """Stop the live peers refresh."""
        self._peer_timer.stop()

    def hideEvent(self, event: Any) -> None:
        self._peer_timer.stop()
        super().hideEvent(event)
