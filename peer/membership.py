"""Cluster membership: the cluster CA, join tokens (CA fingerprint + one-time secret), node certificates, revocation.

Files live in one folder (``data_dir/cluster``): the CA certificate and key, this node's certificate and key
(common name = node id, signed by the CA), ``cluster.json`` (cluster secret, revoked node ids), ``crl.pem``
(derived from the revoked ids, see :mod:`peer.revocation`) and ``tokens.json`` (unused one-time join
secrets). A join proves knowledge of the one-time secret with an HMAC over the request, and the answer (CA,
signed certificate, sealed cluster secrets) is checked against the CA fingerprint the token carries, so
neither side trusts the unauthenticated TLS of the first contact.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from engine.atomic import PUBLIC, atomic_write_bytes
from peer import const
from peer.errors import ScopeError
from peer.revocation import CRL, client_context, crl_is_current, serial_of, sign_crl, write_crl
from peer.tls import NodeCertificate, _alt_names, fingerprint_of_der, fingerprint_of_pem

CA_CERT, CA_KEY, NODE_CERT, NODE_KEY = "ca.pem", "ca-key.pem", "node-cert.pem", "node-key.pem"
STATE, TOKENS = "cluster.json", "tokens.json"


class JoinError(ScopeError):
    """A join token or join answer is not valid (403)."""

    code = "join_refused"


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
    """Where to join, the CA fingerprint to expect and the one-time secret."""

    address: str
    ca_fingerprint: str
    secret: str

    def encode(self) -> str:
        """``VOMID1.<base64 json>``."""
        raw = json.dumps({"a": self.address, "f": self.ca_fingerprint, "s": self.secret}).encode()
        return "VOMID1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> JoinToken:
        """Parse :meth:`encode` output."""
        try:
            prefix, body = text.strip().split(".", 1)
            obj = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            if prefix != "VOMID1":
                raise ValueError(prefix)
            return cls(str(obj["a"]), str(obj["f"]), str(obj["s"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise JoinError("not a vomid join token") from exc


class Membership:
    """This node's place in a cluster, read from and written to its cluster folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        state = json.loads((self.directory / STATE).read_text())
        self.cluster_secret = bytes.fromhex(state["secret"])
        self.revoked: set[str] = set(state.get("revoked", []))
        self.ca_pem = (self.directory / CA_CERT).read_bytes()
        self.ca_fingerprint = fingerprint_of_pem(self.ca_pem)
        cert_pem = (self.directory / NODE_CERT).read_bytes()
        cert = x509.load_pem_x509_certificate(cert_pem)
        self.node_id = node_id_of(cert.public_bytes(serialization.Encoding.DER))
        if not crl_is_current(self.crl_path, self.revoked):  # a folder from before CRLs, or one near expiry
            self._write_crl()

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
        """TLS for calls to peers: present our certificate, trust only the cluster CA, refuse revoked peers."""
        return client_context(self.directory / NODE_CERT, self.directory / NODE_KEY, self.ca_path, self.crl_path)

    def server_options(self) -> dict[str, Any]:
        """NodeServer keyword arguments: this certificate; client certificates checked against the CA and CRL."""
        return {"certificate": self.certificate, "client_ca": self.ca_path, "client_cert_optional": True,
                "crl": self.crl_path}

    def member_of(self, cert_der: bytes | None) -> str | None:
        """The node id of a client certificate the CA signed and nobody revoked, else None."""
        if not cert_der:
            return None
        node_id = node_id_of(cert_der)
        return None if node_id in self.revoked else node_id

    def revoke(self, node_ids: set[str] | list[str]) -> bool:
        """Add node ids to the revocation list; True when the list grew."""
        with self._lock:
            new = set(node_ids) - self.revoked
            if not new:
                return False
            self.revoked |= new
            self._save_state()
            return True

    def _save_state(self) -> None:
        state = {"secret": self.cluster_secret.hex(), "revoked": sorted(self.revoked)}
        _write_private(self.directory / STATE, json.dumps(state).encode())
        self._write_crl()

    def _write_crl(self) -> None:
        write_crl(self.crl_path, sign_crl(self.ca_pem, (self.directory / CA_KEY).read_bytes(), self.revoked))

    # -- tokens and joining (the member side) ------------------------------------------------
    def new_token(self, address: str) -> JoinToken:
        """A one-time join token for ``address`` (this node's host:port)."""
        secret = secrets.token_urlsafe(24)
        with self._lock:
            tokens = _read_tokens(self.directory)
            tokens.append(secret)
            _write_private(self.directory / TOKENS, json.dumps(tokens).encode())
        return JoinToken(address, self.ca_fingerprint, secret)

    def accept_join(self, request: dict[str, Any]) -> dict[str, Any]:
        """Check a join request's proof, use up its secret, and answer with a signed certificate and the secrets."""
        csr_pem = str(request["csr"]).encode()
        with self._lock:
            tokens = _read_tokens(self.directory)
            secret = next((t for t in tokens if _proves(t, request)), None)
            if secret is None:
                raise JoinError("the join token is not valid here or was used already")
            tokens.remove(secret)
            _write_private(self.directory / TOKENS, json.dumps(tokens).encode())
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise JoinError("the join request carries no valid CSR") from exc
        node_id = str(request["node_id"])
        if not csr.is_signature_valid or node_id in self.revoked:
            raise JoinError("the join request is not valid")
        ca_cert = x509.load_pem_x509_certificate(self.ca_pem)
        ca_key = serialization.load_pem_private_key((self.directory / CA_KEY).read_bytes(), None)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])
        cert = _sign(ca_cert, ca_key, subject, csr.public_key(), ca=False, hosts=list(request.get("hosts", [])))
        sealed = AESGCM(_derive(secret.encode(), "join")).encrypt(
            b"\0" * 12, json.dumps({"secret": self.cluster_secret.hex(), "revoked": sorted(self.revoked),
                                    "ca_key": (self.directory / CA_KEY).read_text()}).encode(), csr_pem)
        return {"ca": self.ca_pem.decode(), "cert": cert.public_bytes(serialization.Encoding.PEM).decode(),
                "sealed": base64.b64encode(sealed).decode()}


def _read_tokens(directory: Path) -> list[str]:
    path = directory / TOKENS
    return list(json.loads(path.read_text())) if path.exists() else []


def _token_id(secret: str) -> str:
    return hashlib.sha256(b"vomid/token-id|" + secret.encode()).hexdigest()[:16]


def _proves(secret: str, request: dict[str, Any]) -> bool:
    """True when the request names this token and carries its HMAC (the secret itself never travels)."""
    if not hmac.compare_digest(_token_id(secret), str(request.get("token_id", ""))):
        return False
    proof = hmac.new(secret.encode(), str(request["csr"]).encode(), "sha256").hexdigest()
    return hmac.compare_digest(proof, str(request.get("proof", "")))


def init_cluster(directory: Path, node_id: str, hosts: list[str]) -> Membership:
    """Create a cluster: a new CA, a cluster secret and this node's certificate."""
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
    _write_private(directory / STATE, json.dumps({"secret": secrets.token_bytes(32).hex(), "revoked": []}).encode())
    return Membership(directory)


def join_request(token: JoinToken, node_id: str, hosts: list[str]) -> tuple[dict[str, Any], bytes]:
    """The body to POST to the member's join route, and this node's new private key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])).sign(key, hashes.SHA256()))
    csr_pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    proof = hmac.new(token.secret.encode(), csr_pem.encode(), "sha256").hexdigest()
    return {"node_id": node_id, "csr": csr_pem, "hosts": hosts, "token_id": _token_id(token.secret),
            "proof": proof}, _key_pem(key)


def finish_join(directory: Path, token: JoinToken, request: dict[str, Any], key_pem: bytes,
                answer: dict[str, Any]) -> Membership:
    """Check the member's answer against the token's CA fingerprint and write the cluster folder."""
    ca_pem = str(answer["ca"]).encode()
    if fingerprint_of_pem(ca_pem) != token.ca_fingerprint:
        raise JoinError("the member answered with another CA than the token names; refusing to join")
    ca = x509.load_pem_x509_certificate(ca_pem)
    cert = x509.load_pem_x509_certificate(str(answer["cert"]).encode())
    cert.verify_directly_issued_by(ca)
    sealed = base64.b64decode(answer["sealed"])
    state = json.loads(AESGCM(_derive(token.secret.encode(), "join")).decrypt(b"\0" * 12, sealed,
                                                                            request["csr"].encode()))
    directory = Path(directory)
    _write_private(directory / NODE_KEY, key_pem)
    _write_public(directory / NODE_CERT, cert.public_bytes(serialization.Encoding.PEM))
    _write_public(directory / CA_CERT, ca_pem)
    _write_private(directory / CA_KEY, str(state["ca_key"]).encode())
    _write_private(directory / STATE, json.dumps({"secret": state["secret"], "revoked": state["revoked"]}).encode())
    return Membership(directory)


def cert_fingerprint(cert_der: bytes) -> str:
    """SHA-256 fingerprint of a DER certificate."""
    return fingerprint_of_der(cert_der)
