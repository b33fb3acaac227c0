"""Cluster membership: the cluster CA, the signed roster, join tokens, node certificates, revocation.

Files live in one folder (``data_dir/cluster``): the CA certificate and key, this node's certificate and key
(common name = node id, signed by the CA), ``cluster.json`` (cluster secret, revoked node ids, the admin public
key, the signed roster -- and on the founding node the admin private key), ``crl.pem`` (derived from the
revoked ids, see :mod:`peer.revocation`) and ``tokens.json`` (the public verification keys of unused join
tokens; never a token's secret).

A node is a member when the roster (:mod:`peer.roster`, signed by the admin key only the founding node holds)
lists its node id with its certificate's fingerprint and no member has revoked it. A join token carries the
address, the CA and admin key fingerprints, its expiry, optionally the node id it admits, and a secret from
which the joiner derives a signing key: the join request (CSR, node id, hosts) is signed with it, and the
founder checks it against the public key in ``tokens.json``. The answer (certificate, roster, cluster secrets
sealed to the CSR's key) is signed with the admin key the token pins, so neither side trusts the
unauthenticated TLS of the first contact.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from engine.atomic import PUBLIC, atomic_write_bytes
from peer import const
from peer.errors import ScopeError
from peer.revocation import CRL, client_context, crl_is_current, serial_of, sign_crl, write_crl
from peer.roster import (
    Roster,
    canonical,
    first_roster,
    key_fingerprint,
    new_admin_key,
    public_pem,
    sign,
    verify,
)
from peer.tls import NodeCertificate, _alt_names, fingerprint_of_der, fingerprint_of_pem

log = logging.getLogger(__name__)

CA_CERT, CA_KEY, NODE_CERT, NODE_KEY = "ca.pem", "ca-key.pem", "node-cert.pem", "node-key.pem"
STATE, TOKENS = "cluster.json", "tokens.json"
ANSWER_LABEL = b"vomid/join-answer/v2|"
REQUEST_LABEL = b"vomid/join-request/v2|"
EXPIRED_KEPT_S = 86_400.0  # an expired token is remembered this long, so its refusal can say "expired"


class JoinError(ScopeError):
    """A join token or join answer is not valid (403)."""

    code = "join_refused"


class TokenExpiredError(JoinError):
    """The join token's time ran out (403)."""

    code = "token_expired"


class TokenForAnotherNodeError(JoinError):
    """The join token admits another node id than the one asking (403)."""

    code = "token_for_another_node"


class NotAdminError(JoinError):
    """Only the node holding the cluster admin key admits members (403)."""

    code = "not_the_admin_node"


def _derive(secret: bytes, label: str) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=f"vomid/{label}".encode()).derive(secret)


def _write_private(path: Path, data: bytes) -> None:
    """A secret or state file of the cluster folder (mode 0600), replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_bytes(path, data)


def _write_public(path: Path, data: bytes) -> None:
    """A certificate of the cluster folder (mode 0644), replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_bytes(path, data, mode=PUBLIC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _sign(ca_cert: x509.Certificate, ca_key: Any, subject: x509.Name, public_key: Any, *, ca: bool,
          hosts: list[str]) -> x509.Certificate:
    """A CA or node certificate; a node's serial derives from its node id (the CRL lists revoked ids by it)."""
    now = dt.datetime.now(dt.UTC)
    node_id = str(subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject if not ca else subject)
               .public_key(public_key).serial_number(x509.random_serial_number() if ca else serial_of(node_id))
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=const.CERT_DAYS))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def node_id_of(cert_der: bytes) -> str:
    """The node id a cluster certificate names (its common name)."""
    cert = x509.load_der_x509_certificate(cert_der)
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


@dataclass(frozen=True)
class JoinToken:
    """Where to join, the CA and admin key fingerprints to expect, the secret, and what the token admits."""

    address: str
    ca_fingerprint: str
    secret: str
    admin_fingerprint: str = ""
    node_id: str = ""  # empty: whichever node uses it first
    expires: float = 0.0  # unix time; informational here, enforced by the member

    def encode(self) -> str:
        """``VOMID1.<base64 json>``."""
        obj: dict[str, Any] = {"a": self.address, "f": self.ca_fingerprint, "s": self.secret,
                               "k": self.admin_fingerprint, "e": self.expires}
        if self.node_id:
            obj["n"] = self.node_id
        return "VOMID1." + base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> JoinToken:
        """Parse :meth:`encode` output."""
        try:
            prefix, body = text.strip().split(".", 1)
            obj = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            if prefix != "VOMID1":
                raise ValueError(prefix)
            return cls(str(obj["a"]), str(obj["f"]), str(obj["s"]), str(obj.get("k", "")), str(obj.get("n", "")),
                       float(obj.get("e", 0.0)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise JoinError("not a vomid join token") from exc


def _token_key(secret: str) -> Ed25519PrivateKey:
    """The signing key a token's secret stands for (its public half is all the member stores)."""
    return Ed25519PrivateKey.from_private_bytes(_derive(secret.encode(), "join-token-key"))


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _token_id(public_raw: bytes) -> str:
    return hashlib.sha256(b"vomid/token-id|" + public_raw).hexdigest()[:16]


def _request_body(request: dict[str, Any]) -> bytes:
    """What a join request's proof signs: the node id, the hosts and the CSR."""
    return REQUEST_LABEL + canonical({"node_id": str(request["node_id"]), "csr": str(request["csr"]),
                                      "hosts": [str(h) for h in request.get("hosts", [])]})


def _answer_body(answer: dict[str, Any], csr_pem: str) -> bytes:
    fields = {k: answer[k] for k in ("ca", "cert", "roster", "admin_public", "eph", "sealed")}
    return canonical({**fields, "csr": hashlib.sha256(csr_pem.encode()).hexdigest()})


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class Membership:
    """This node's place in a cluster, read from and written to its cluster folder.

    ``cluster.json`` may change under a running node (``vomid cluster remove`` writes it when the node does not
    answer): :meth:`refresh` re-reads it when its inode, mtime or size change, and every check calls it.
    ``listeners`` are told the node ids each change revoked, whoever made it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.RLock()
        self.listeners: list[Callable[[set[str]], None]] = []
        self._load_state()
        self.ca_pem = (self.directory / CA_CERT).read_bytes()
        self.ca_fingerprint = fingerprint_of_pem(self.ca_pem)
        cert_pem = (self.directory / NODE_CERT).read_bytes()
        cert = x509.load_pem_x509_certificate(cert_pem)
        self.node_id = node_id_of(cert.public_bytes(serialization.Encoding.DER))
        if self.roster is None:
            log.warning("the cluster folder %s has no signed roster (made before version 2): any holder of the "
                        "cluster CA key can join it; create the cluster again to close that", self.directory)
        if not crl_is_current(self.crl_path, self.revoked):  # a folder from before CRLs, or one near expiry
            self._write_crl()

    def _load_state(self) -> None:
        path = self.directory / STATE
        stamp = _stamp(path)
        state = json.loads(path.read_text())
        self.cluster_secret = bytes.fromhex(state["secret"])
        self.revoked: set[str] = set(state.get("revoked", []))
        self.admin_public: str | None = state.get("admin_public")
        self._admin_key: str | None = state.get("admin_key")
        self.roster: Roster | None = Roster.from_json(state["roster"]) if state.get("roster") else None
        self._stamp = stamp

    @staticmethod
    def exists(directory: Path) -> bool:
        """True when ``directory`` holds a joined cluster."""
        return all((Path(directory) / f).exists() for f in (STATE, CA_CERT, NODE_CERT, NODE_KEY))

    @property
    def cluster_id(self) -> str:
        """A public hash naming the cluster (never the secret)."""
        return hashlib.sha256(b"vomid/cluster-id|" + self.ca_fingerprint.encode()).hexdigest()[:16]

    @property
    def transport_key(self) -> bytes:
        """The key voiceprint data keys are wrapped with between members."""
        return _derive(self.cluster_secret, "transport")

    @property
    def is_admin(self) -> bool:
        """True on the node that holds the cluster admin key (the founder): only it admits members."""
        return self._admin_key is not None

    @property
    def admin_node(self) -> str | None:
        """The node id holding the admin key, as the roster says (None for a folder without a roster)."""
        return self.roster.admin if self.roster is not None else None

    @property
    def certificate(self) -> NodeCertificate:
        """This node's CA-signed certificate for the server and for calls to peers."""
        path = self.directory / NODE_CERT
        return NodeCertificate(path, self.directory / NODE_KEY, fingerprint_of_pem(path.read_bytes()))

    @property
    def ca_path(self) -> Path:
        """The CA certificate file (client CA of the server)."""
        return self.directory / CA_CERT

    @property
    def crl_path(self) -> Path:
        """The CRL the CA signed over the revoked node ids (derived from ``cluster.json``)."""
        return self.directory / CRL

    def client_context(self) -> ssl.SSLContext:
        """TLS for calls to peers: our certificate; a peer must be CA-signed, unrevoked and listed in the roster."""
        return client_context(self.directory / NODE_CERT, self.directory / NODE_KEY, self.ca_path, self.crl_path,
                              admit=lambda der: self.member_of(der) is not None)

    def server_options(self) -> dict[str, Any]:
        """NodeServer keyword arguments: this certificate; client certificates checked against the CA and CRL."""
        return {"certificate": self.certificate, "client_ca": self.ca_path, "client_cert_optional": True,
                "crl": self.crl_path}

    # -- who is a member ---------------------------------------------------------------------
    def member_of(self, cert_der: bytes | None) -> str | None:
        """The node id of a certificate the roster lists (by fingerprint) and nobody revoked, else None."""
        if not cert_der:
            return None
        self.refresh()
        try:
            node_id = node_id_of(cert_der)
        except (ValueError, IndexError):
            return None
        if node_id in self.revoked:
            return None
        if self.roster is None:  # a folder from before the roster: the CA signature is all there is
            return node_id
        return node_id if self.roster.members.get(node_id) == fingerprint_of_der(cert_der) else None

    def issued_by_our_ca(self, cert_der: bytes) -> bool:
        """True when the cluster CA signed ``cert_der`` (a certificate of this cluster, listed or not)."""
        try:
            x509.load_der_x509_certificate(cert_der).verify_directly_issued_by(
                x509.load_pem_x509_certificate(self.ca_pem))
            return True
        except (ValueError, TypeError, InvalidSignature):
            return False

    def refresh(self) -> None:
        """Re-read ``cluster.json`` when another process changed it; tell the listeners what it revoked."""
        if _stamp(self.directory / STATE) == self._stamp:
            return
        with self._lock:
            before = set(self.revoked)
            try:
                self._load_state()
            except (OSError, ValueError, KeyError) as exc:
                log.error("cannot re-read %s (%s); keeping the state read before", self.directory / STATE, exc)
                return
            if not crl_is_current(self.crl_path, self.revoked):
                self._write_crl()
        self._notify(self.revoked - before)

    def _notify(self, revoked: set[str]) -> None:
        for listener in list(self.listeners) if revoked else []:
            try:
                listener(set(revoked))
            except Exception:
                log.exception("a revocation listener failed")

    def revoke(self, node_ids: set[str] | list[str]) -> bool:
        """Add node ids to the revocation list (any member may: it only takes); True when the list grew."""
        self.refresh()
        with self._lock:
            new = set(node_ids) - self.revoked
            if not new:
                return False
            self.revoked |= new
            self._save_state()
        self._notify(new)
        return True

    def adopt(self, roster_json: Any) -> bool:
        """Take a newer roster a member showed us, if the admin key signed it; True when it replaced ours."""
        if self.admin_public is None or self.roster is None or not roster_json:
            return False
        try:
            roster = Roster.from_json(roster_json)
        except ValueError:
            return False
        if roster.version <= self.roster.version or roster.admin != self.roster.admin:
            return False
        if not roster.signed_by(self.admin_public):
            log.warning("ignoring a roster (version %d) the cluster admin key did not sign", roster.version)
            return False
        self.refresh()
        with self._lock:
            if roster.version <= self.roster.version:
                return False
            self.roster = roster
            self._save_state()
        return True

    def _save_state(self) -> None:
        state: dict[str, Any] = {"secret": self.cluster_secret.hex(), "revoked": sorted(self.revoked)}
        if self.admin_public is not None:
            state["admin_public"] = self.admin_public
        if self._admin_key is not None:
            state["admin_key"] = self._admin_key
        if self.roster is not None:
            state["roster"] = self.roster.to_json()
        _write_private(self.directory / STATE, json.dumps(state).encode())
        self._stamp = _stamp(self.directory / STATE)
        self._write_crl()

    def _write_crl(self) -> None:
        write_crl(self.crl_path, sign_crl(self.ca_pem, (self.directory / CA_KEY).read_bytes(), self.revoked))

    # -- tokens and joining (the admin side) -------------------------------------------------
    def new_token(self, address: str, node_id: str | None = None, ttl_s: float | None = None) -> JoinToken:
        """A one-time join token for ``address`` (this node's host:port), valid ``ttl_s`` (default 1 h).

        With ``node_id`` it admits only that node id. ``tokens.json`` keeps only the token's public key.
        """
        if not self.is_admin or self.admin_public is None:
            raise NotAdminError(f"only the kiosk that created the cluster ({self.admin_node or 'unknown'}) can "
                                "admit members: make the join token there")
        secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        public = _raw_public(_token_key(secret))
        expires = time.time() + (const.JOIN_TOKEN_TTL_S if ttl_s is None else ttl_s)
        with self._lock:
            tokens = _read_tokens(self.directory)
            tokens.append({"id": _token_id(public), "public": public.hex(), "expires": expires,
                           "node_id": node_id or ""})
            _write_tokens(self.directory, tokens)
        return JoinToken(address, self.ca_fingerprint, secret, key_fingerprint(self.admin_public), node_id or "",
                         expires)

    def accept_join(self, request: dict[str, Any]) -> dict[str, Any]:
        """Check a join request's proof, use up its token, admit the node to the roster and answer it."""
        node_id, csr_pem = str(request["node_id"]), str(request["csr"])
        if not self.is_admin or self._admin_key is None or self.roster is None or self.admin_public is None:
            raise NotAdminError(f"only the kiosk that created the cluster ({self.admin_node or 'unknown'}) can "
                                "admit members")
        with self._lock:
            self._spend_token(request, node_id)
            try:
                csr = x509.load_pem_x509_csr(csr_pem.encode())
            except ValueError as exc:
                raise JoinError("the join request carries no valid CSR") from exc
            names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            if not csr.is_signature_valid or not names or names[0].value != node_id:
                raise JoinError("the join request's CSR does not name the node id it asks for")
            if node_id in self.revoked or node_id == self.roster.admin:
                raise JoinError(f"{node_id} was removed from this cluster or is its admin node: join under another "
                                "node name")
            if node_id in self.roster.members:  # a kiosk set up again, or a join whose answer was refused
                log.warning("re-admitting %s with a new certificate: its old one stops working", node_id)
            public_key = csr.public_key()
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                raise JoinError("the join request's key is not an EC key")
            ca_cert = x509.load_pem_x509_certificate(self.ca_pem)
            ca_key = serialization.load_pem_private_key((self.directory / CA_KEY).read_bytes(), None)
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])
            cert = _sign(ca_cert, ca_key, subject, public_key, ca=False, hosts=list(request.get("hosts", [])))
            cert_der = cert.public_bytes(serialization.Encoding.DER)
            self.roster = self.roster.with_member(node_id, fingerprint_of_der(cert_der), self._admin_key)
            self._save_state()
            secrets_json = json.dumps({"secret": self.cluster_secret.hex(), "revoked": sorted(self.revoked),
                                       "ca_key": (self.directory / CA_KEY).read_text()}).encode()
        eph = ec.generate_private_key(ec.SECP256R1())
        seal_key = _derive(eph.exchange(ec.ECDH(), public_key), "join-seal")
        answer = {"ca": self.ca_pem.decode(), "cert": cert.public_bytes(serialization.Encoding.PEM).decode(),
                  "roster": self.roster.to_json(), "admin_public": self.admin_public, "eph": public_pem(eph),
                  "sealed": base64.b64encode(AESGCM(seal_key).encrypt(b"\0" * 12, secrets_json,
                                                                      csr_pem.encode())).decode()}
        answer["signature"] = sign(self._admin_key, ANSWER_LABEL, _answer_body(answer, csr_pem))
        return answer

    def _spend_token(self, request: dict[str, Any], node_id: str) -> None:
        """Find the token the request proves, refuse it when expired or for another node, else use it up."""
        tokens = _read_tokens(self.directory)
        token = next((t for t in tokens if t["id"] == str(request.get("token_id", ""))), None)
        if token is None or not _proves(bytes.fromhex(token["public"]), request):
            raise JoinError("the join token is not valid here or was used already")
        if token["expires"] < time.time():
            when = dt.datetime.fromtimestamp(token["expires"], dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise TokenExpiredError(f"the join token expired at {when}, tokens last {const.JOIN_TOKEN_TTL_S / 60:g} "
                                    "minutes")
        if token["node_id"] and token["node_id"] != node_id:
            raise TokenForAnotherNodeError(f"the join token admits {token['node_id']}, not {node_id}: make a token "
                                           f"for {node_id}")
        tokens.remove(token)
        _write_tokens(self.directory, tokens)


def _read_tokens(directory: Path) -> list[dict[str, Any]]:
    """Unused tokens (those of an older format, which held the secret itself, are dropped)."""
    path = directory / TOKENS
    if not path.exists():
        return []
    kept = time.time() - EXPIRED_KEPT_S
    return [t for t in json.loads(path.read_text())
            if isinstance(t, dict) and {"id", "public", "expires"} <= t.keys() and float(t["expires"]) > kept]


def _write_tokens(directory: Path, tokens: list[dict[str, Any]]) -> None:
    _write_private(directory / TOKENS, json.dumps(tokens).encode())


def _proves(public_raw: bytes, request: dict[str, Any]) -> bool:
    """True when the request's proof is the token key's signature over it (the secret itself never travels)."""
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(bytes.fromhex(str(request.get("proof", ""))),
                                                              _request_body(request))
        return True
    except (InvalidSignature, ValueError):
        return False


def init_cluster(directory: Path, node_id: str, hosts: list[str]) -> Membership:
    """Create a cluster: a new CA, the admin key, a cluster secret, this node's certificate and the first roster."""
    directory = Path(directory)
    if Membership.exists(directory):
        raise JoinError(f"{directory} already belongs to a cluster")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge-vomid cluster CA")])
    ca_cert = _sign(None, ca_key, ca_name, ca_key.public_key(), ca=True, hosts=[])  # type: ignore[arg-type]
    _write_private(directory / CA_KEY, _key_pem(ca_key))
    _write_public(directory / CA_CERT, ca_cert.public_bytes(serialization.Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])
    cert = _sign(ca_cert, ca_key, subject, key.public_key(), ca=False, hosts=hosts)
    _write_private(directory / NODE_KEY, _key_pem(key))
    _write_public(directory / NODE_CERT, cert.public_bytes(serialization.Encoding.PEM))
    admin = new_admin_key()
    admin_pem = _key_pem(admin).decode()
    roster = first_roster(node_id, fingerprint_of_der(cert.public_bytes(serialization.Encoding.DER)), admin_pem)
    state = {"secret": secrets.token_bytes(32).hex(), "revoked": [], "admin_public": public_pem(admin),
             "admin_key": admin_pem, "roster": roster.to_json()}
    _write_private(directory / STATE, json.dumps(state).encode())
    return Membership(directory)


def join_request(token: JoinToken, node_id: str, hosts: list[str]) -> tuple[dict[str, Any], bytes]:
    """The body to POST to the member's join route, and this node's new private key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])).sign(key, hashes.SHA256()))
    csr_pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    token_key = _token_key(token.secret)
    request: dict[str, Any] = {"node_id": node_id, "csr": csr_pem, "hosts": hosts,
                               "token_id": _token_id(_raw_public(token_key))}
    request["proof"] = token_key.sign(_request_body(request)).hex()
    return request, _key_pem(key)


def finish_join(directory: Path, token: JoinToken, request: dict[str, Any], key_pem: bytes,
                answer: dict[str, Any]) -> Membership:
    """Check the answer against the token's CA and admin key fingerprints and write the cluster folder."""
    ca_pem = str(answer["ca"]).encode()
    if fingerprint_of_pem(ca_pem) != token.ca_fingerprint:
        raise JoinError("the member answered with another CA than the token names; refusing to join")
    admin_public = str(answer["admin_public"])
    if not token.admin_fingerprint or key_fingerprint(admin_public) != token.admin_fingerprint:
        raise JoinError("the member answered with another admin key than the token names; refusing to join")
    if not verify(admin_public, ANSWER_LABEL, _answer_body(answer, str(request["csr"])), str(answer["signature"])):
        raise JoinError("the join answer is not signed by the cluster admin key; refusing to join")
    ca = x509.load_pem_x509_certificate(ca_pem)
    cert = x509.load_pem_x509_certificate(str(answer["cert"]).encode())
    cert.verify_directly_issued_by(ca)
    key = serialization.load_pem_private_key(key_pem, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or cert.public_key() != key.public_key():
        raise JoinError("the certificate in the join answer is not for this node's key")
    roster = Roster.from_json(answer["roster"])
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    if not roster.signed_by(admin_public) or roster.members.get(str(request["node_id"])) != fingerprint_of_der(cert_der):
        raise JoinError("the roster in the join answer does not list this node; refusing to join")
    eph = serialization.load_pem_public_key(str(answer["eph"]).encode())
    if not isinstance(eph, ec.EllipticCurvePublicKey):
        raise JoinError("the join answer's key exchange is not EC")
    seal_key = _derive(key.exchange(ec.ECDH(), eph), "join-seal")
    state = json.loads(AESGCM(seal_key).decrypt(b"\0" * 12, base64.b64decode(answer["sealed"]),
                                                request["csr"].encode()))
    directory = Path(directory)
    _write_private(directory / NODE_KEY, key_pem)
    _write_public(directory / NODE_CERT, cert.public_bytes(serialization.Encoding.PEM))
    _write_public(directory / CA_CERT, ca_pem)
    _write_private(directory / CA_KEY, str(state["ca_key"]).encode())
    _write_private(directory / STATE, json.dumps({"secret": state["secret"], "revoked": state["revoked"],
                                                  "admin_public": admin_public,
                                                  "roster": roster.to_json()}).encode())
    return Membership(directory)


def cert_fingerprint(cert_der: bytes) -> str:
    """SHA-256 fingerprint of a DER certificate."""
    return fingerprint_of_der(cert_der)
