"""The node's TLS certificate: generated on first start (self-signed, ECDSA P-256), pinned by fingerprint."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.atomic import PUBLIC, atomic_write_bytes
from peer import const
from peer.fingerprints import fingerprint_of_der, fingerprint_of_pem

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class NodeCertificate:
    """Paths of the node's certificate and key, and the certificate's SHA-256 fingerprint."""

    cert_path: Path
    key_path: Path
    fingerprint: str


def is_loopback(host: str) -> bool:
    """True for a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys([*hosts, *LOOPBACK_HOSTS, socket.gethostname()]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if host:
                names.append(x509.DNSName(host))
    return names


def generate_certificate(cert_path: Path, key_path: Path, hosts: list[str]) -> None:
    """Write a new self-signed certificate and its private key (mode 0600)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"edge-vomid node {socket.gethostname()}")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=const.CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_bytes(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    atomic_write_bytes(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=PUBLIC)


def ensure_certificate(directory: Path, hosts: list[str] | None = None) -> NodeCertificate:
    """The node's certificate in ``directory``, generated on first use."""
    cert_path, key_path = Path(directory) / const.CERT_FILE, Path(directory) / const.KEY_FILE
    if not (cert_path.exists() and key_path.exists()):
        generate_certificate(cert_path, key_path, list(hosts or []))
    return NodeCertificate(cert_path, key_path, fingerprint_of_pem(cert_path.read_bytes()))


def peer_fingerprint(sock: ssl.SSLSocket | ssl.SSLObject) -> str | None:
    """Fingerprint of the certificate the other side presented."""
    der = sock.getpeercert(binary_form=True)
    return fingerprint_of_der(der) if der else None
