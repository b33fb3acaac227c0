"""Fixtures of the node tests: the offline model once per session, real stores, real servers on loopback."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.config import EngineConfig, ModelConfig
from engine.models import load_model
from engine.models.base import EmbeddingModel
from engine.store import KeyFileProvider, VoiceprintStore
from peer.membership import JoinToken, Membership, finish_join, join_request
from peer.node import Node, NodeLimits, batched_engine
from peer.server import NodeServer

SCOPES = ("enrol", "verify", "admin")
# One torch thread: spinning OpenMP threads crawl on the shared 2-core test machine.
CONFIG = EngineConfig(model=ModelConfig(model_id="ge2e", threads=1))
# Takes with at least 3 s of speech each (the enrolment gate), and held-out attempts.
TAKES = {"1688": [3, 4, 5], "1998": [1, 3, 6]}
ATTEMPT = {"1688": 7, "1998": 9, "2414": 5, "3080": 5}
# Nodes of tests that are not about the per-key rate (2/s by default) share keys across many requests.
UNLIMITED_RATE = NodeLimits(rate_per_s=1000.0, burst=10_000)


@dataclass
class Running:
    """A node serving on loopback with its store and one API key per scope."""

    server: NodeServer
    node: Node
    store: VoiceprintStore
    keys: dict[str, str]
    directory: Path

    @property
    def url(self) -> str:
        return self.server.url

    def ssl_context(self) -> ssl.SSLContext | bool:
        """Trust exactly this node's certificate (False for plain HTTP)."""
        cert = self.server.certificate
        if cert is None:
            return False
        ctx = ssl.create_default_context(cadata=cert.cert_path.read_text())
        ctx.check_hostname = False
        return ctx

    def client(self, scope: str | None = "admin", *, source: str | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client with the key of ``scope`` (None: no key), connecting from address ``source`` if given."""
        headers = {"X-API-Key": self.keys[scope]} if scope else {}
        if source is not None:
            kwargs["transport"] = httpx.HTTPTransport(verify=self.ssl_context(), local_address=source)
        return httpx.Client(base_url=self.url, verify=self.ssl_context(), headers=headers, timeout=120, **kwargs)


@contextmanager
def running_node(directory: Path, model: EmbeddingModel | None, *, tls: bool = True,
                 config: EngineConfig = CONFIG, limits: NodeLimits | None = None,
                 **server_options: Any) -> Iterator[Running]:
    """Open a store in ``directory``, start a node over it (no model when ``model`` is None), stop both after.

    ``server_options`` go to :class:`NodeServer` (for example ``trusted_proxies``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    store = VoiceprintStore.open(directory / "store.db", KeyFileProvider(directory / "master.key"))
    try:
        keys = {scope: store.create_api_key(f"test {scope}", [scope])[1] for scope in SCOPES}
        engine = batched_engine(config, model, store) if model is not None else None
        node = Node(store, engine, limits=limits or UNLIMITED_RATE)
        server = NodeServer(node, tls=tls, cert_dir=directory, **server_options).start()
        try:
            yield Running(server, node, store, keys, directory)
        finally:
            server.stop()
    finally:
        store.close()


def join_in_process(member: Membership, directory: Path, node_id: str) -> Membership:
    """Join ``node_id`` (folder ``directory``) to ``member``'s cluster with a fresh token, without HTTP."""
    token = JoinToken.decode(member.new_token("127.0.0.1:1").encode())
    request, key = join_request(token, node_id, ["127.0.0.1"])
    return finish_join(directory, token, request, key, member.accept_join(request))


def utterances(shared_data: Path, speaker: str) -> list[Path]:
    """A reader's utterances, sorted."""
    return sorted((shared_data / "verification" / "en" / speaker).glob("*.flac"))


def takes_of(shared_data: Path, speaker: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    """Multipart file parts of a speaker's enrolment takes."""
    files = [utterances(shared_data, speaker)[i] for i in TAKES[speaker]]
    return [("takes", (f.name, f.read_bytes(), "audio/flac")) for f in files]


def attempt_of(shared_data: Path, speaker: str) -> bytes:
    """Bytes of a held-out utterance of ``speaker``."""
    return utterances(shared_data, speaker)[ATTEMPT[speaker]].read_bytes()


@pytest.fixture(scope="session")
def ge2e() -> EmbeddingModel:
    """The offline GE2E model, loaded once."""
    return load_model(CONFIG.model)


@pytest.fixture(scope="session")
def node(ge2e: EmbeddingModel, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A TLS node shared by the read-mostly tests, with readers 1688 and 1998 enrolled over HTTP."""
    with running_node(tmp_path_factory.mktemp("node"), ge2e) as running:
        enrol_readers(running, shared_data)
        yield running


def enrol_readers(running: Running, shared_data: Path) -> None:
    """Enrol the readers of ``TAKES`` over HTTP, named "Reader <id>"."""
    with running.client("enrol") as client:
        for speaker in TAKES:
            r = client.post("/api/v1/voiceprint/register", data={"speaker_id": speaker, "name": f"Reader {speaker}"},
                            files=takes_of(shared_data, speaker))
            assert r.status_code == 201, r.text
