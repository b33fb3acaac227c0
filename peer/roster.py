"""The cluster's member list: node id -> certificate fingerprint, versioned and signed by the cluster admin key.

Every member holds the cluster CA key (it signs CRLs), so "signed by the CA" proves nothing about who a node is.
A node is a member only when the roster names its node id with the SHA-256 fingerprint of the certificate it
presents. Only the admin key signs a roster; `cluster init` makes it and it never leaves the founding node
(members hold its public key, pinned by the join token), so an ordinary member cannot admit anyone. Removal
needs no signature: the revoked ids are a grow-only set any member may add to (see :mod:`peer.membership`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROSTER_LABEL = b"vomid/roster/v1|"


def new_admin_key() -> ec.EllipticCurvePrivateKey:
    """A new cluster admin key (ECDSA P-256)."""
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    """The public half of ``key`` as PEM text."""
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_fingerprint(public_key_pem: str) -> str:
    """SHA-256 of a public key's DER (SubjectPublicKeyInfo), hex: what a join token pins."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def sign(key_pem: str, label: bytes, data: bytes) -> str:
    """ECDSA signature (hex) of ``label + data`` with a PEM private key."""
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("the cluster admin key is not an EC key")
    return key.sign(label + data, ec.ECDSA(hashes.SHA256())).hex()


def verify(public_key_pem: str, label: bytes, data: bytes, signature: str) -> bool:
    """True when ``signature`` (hex) signs ``label + data`` under the PEM public key."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return False
        key.verify(bytes.fromhex(signature), label + data, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def canonical(obj: Any) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Roster:
    """Version, the admin (founding) node and each member's certificate fingerprint, with the admin's signature."""

    version: int
    admin: str
    members: dict[str, str] = field(default_factory=dict)
    signature: str = ""

    def body(self) -> bytes:
        """What the signature covers."""
        return canonical({"version": self.version, "admin": self.admin, "members": self.members})

    def signed_by(self, public_key_pem: str) -> bool:
        """True when the admin key ``public_key_pem`` signed this roster."""
        return bool(self.signature) and verify(public_key_pem, ROSTER_LABEL, self.body(), self.signature)

    def with_member(self, node_id: str, fingerprint: str, admin_key_pem: str) -> Roster:
        """The next version, listing ``node_id`` with ``fingerprint``, signed with the admin key."""
        unsigned = Roster(self.version + 1, self.admin, {**self.members, node_id: fingerprint})
        return Roster(unsigned.version, unsigned.admin, unsigned.members,
                      sign(admin_key_pem, ROSTER_LABEL, unsigned.body()))

    def to_json(self) -> dict[str, Any]:
        """JSON form (cluster.json, ping answers, join answers)."""
        return {"version": self.version, "admin": self.admin, "members": dict(self.members),
                "signature": self.signature}

    @classmethod
    def from_json(cls, obj: Any) -> Roster:
        """Parse :meth:`to_json` output (ValueError when it is not one)."""
        try:
            members = {str(k): str(v) for k, v in dict(obj["members"]).items()}
            return cls(int(obj["version"]), str(obj["admin"]), members, str(obj["signature"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError("not a cluster roster") from exc


def first_roster(admin_node: str, fingerprint: str, admin_key_pem: str) -> Roster:
    """Version 1: the founding node alone."""
    return Roster(0, admin_node, {}).with_member(admin_node, fingerprint, admin_key_pem)
