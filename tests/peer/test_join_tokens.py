"""Join tokens and the roster in process (issue 14): what a member holding the CA key, or a copy of tokens.json,
cannot do. The same attacks against running nodes are in tests/peer/cluster/test_membership_attacks.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from peer.membership import (
    JoinError,
    JoinToken,
    Membership,
    NotAdminError,
    TokenExpiredError,
    TokenForAnotherNodeError,
    finish_join,
    init_cluster,
    join_request,
)
from peer.roster import Roster, new_admin_key, public_pem
from tests.peer.conftest import join_in_process


@pytest.fixture
def founder(tmp_path: Path) -> Membership:
    return init_cluster(tmp_path / "a", "nodea", ["127.0.0.1"])


def test_an_answer_forged_by_a_member_holding_the_ca_key_is_refused(founder: Membership, tmp_path: Path) -> None:
    member = join_in_process(founder, tmp_path / "b", "nodeb")
    token = founder.new_token("127.0.0.1:1")
    request, key = join_request(token, "nodej", ["127.0.0.1"])
    honest = founder.accept_join(request)
    # B sits between the joiner and A: it has the CA key, so it can sign a certificate and seal its own secrets,
    # but not sign the answer with the admin key the token pins
    ca_key = serialization.load_pem_private_key((member.directory / "ca-key.pem").read_bytes(), None)
    csr = x509.load_pem_x509_csr(request["csr"].encode())
    ca = x509.load_pem_x509_certificate(member.ca_pem)
    forged_cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject)
                   .public_key(csr.public_key()).serial_number(7).not_valid_before(ca.not_valid_before_utc)
                   .not_valid_after(ca.not_valid_after_utc).sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    forged = {**honest, "cert": forged_cert.public_bytes(serialization.Encoding.PEM).decode()}
    with pytest.raises(JoinError, match="not signed by the cluster admin key"):
        finish_join(tmp_path / "j1", token, request, key, forged)
    other_admin = public_pem(new_admin_key())
    with pytest.raises(JoinError, match="another admin key"):
        finish_join(tmp_path / "j2", token, request, key, {**honest, "admin_public": other_admin})
    joined = finish_join(tmp_path / "j3", token, request, key, honest)  # the honest answer still works
    assert joined.member_of(_der(joined)) == "nodej"


def _der(member: Membership) -> bytes:
    return x509.load_pem_x509_certificate(member.certificate.cert_path.read_bytes()).public_bytes(
        serialization.Encoding.DER)


def test_a_copy_of_the_tokens_file_does_not_let_anyone_join(founder: Membership) -> None:
    token = founder.new_token("127.0.0.1:1")
    stored = json.loads((founder.directory / "tokens.json").read_text())[0]
    assert token.secret not in json.dumps(stored)
    guessed = JoinToken(token.address, token.ca_fingerprint, stored["public"], token.admin_fingerprint)
    request, _key = join_request(guessed, "thief", [])
    request["token_id"] = stored["id"]  # names the right token, but cannot sign for it
    with pytest.raises(JoinError, match="not valid here or was used already"):
        founder.accept_join(request)
    request, _key = join_request(token, "nodeb", [])
    assert founder.accept_join(request)["cert"]  # the token was not spent by the failed try


def test_expired_and_bound_tokens_are_refused_and_only_the_founder_makes_them(founder: Membership,
                                                                             tmp_path: Path) -> None:
    expired = founder.new_token("127.0.0.1:1", ttl_s=-1)
    with pytest.raises(TokenExpiredError, match="expired at"):
        founder.accept_join(join_request(expired, "nodeb", [])[0])
    bound = founder.new_token("127.0.0.1:1", node_id="nodex")
    with pytest.raises(TokenForAnotherNodeError, match="admits nodex, not nodeb"):
        founder.accept_join(join_request(bound, "nodeb", [])[0])
    assert founder.accept_join(join_request(bound, "nodex", [])[0])["cert"]
    member = join_in_process(founder, tmp_path / "b", "nodeb")
    with pytest.raises(NotAdminError, match=r"created the cluster \(nodea\)"):
        member.new_token("127.0.0.1:1")


def test_only_a_roster_the_admin_key_signed_is_adopted(founder: Membership, tmp_path: Path) -> None:
    b = join_in_process(founder, tmp_path / "b", "nodeb")
    join_in_process(founder, tmp_path / "c", "nodec")  # A's roster is one version ahead of B's now
    assert founder.roster is not None and b.roster is not None and founder.roster.version == b.roster.version + 1
    own_key = serialization.load_pem_private_key((b.directory / "ca-key.pem").read_bytes(), None)
    pem = own_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # type: ignore[union-attr]
                                serialization.NoEncryption()).decode()
    forged = Roster(b.roster.version, b.roster.admin, b.roster.members).with_member("evil", "00" * 32, pem)
    assert not b.adopt(forged.to_json())
    assert b.adopt(founder.roster.to_json()) and "nodec" in Membership(b.directory).roster.members  # type: ignore[union-attr]


def test_a_removal_written_by_another_process_reaches_a_running_membership(founder: Membership,
                                                                           tmp_path: Path) -> None:
    b = join_in_process(founder, tmp_path / "b", "nodeb")
    heard: list[set[str]] = []
    founder.listeners.append(heard.append)
    assert founder.member_of(_der(b)) == "nodeb"
    Membership(founder.directory).revoke(["nodeb"])  # as `vomid cluster remove` does when the node does not answer
    assert founder.member_of(_der(b)) is None and heard == [{"nodeb"}]


def test_a_certificate_of_the_right_ca_for_an_unlisted_node_is_no_member(founder: Membership) -> None:
    ca_key = serialization.load_pem_private_key((founder.directory / "ca-key.pem").read_bytes(), None)
    ca = x509.load_pem_x509_certificate(founder.ca_pem)
    key = new_admin_key()
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(9)
            .not_valid_before(ca.not_valid_before_utc).not_valid_after(ca.not_valid_after_utc)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    der = cert.public_bytes(serialization.Encoding.DER)
    assert founder.issued_by_our_ca(der) and founder.member_of(der) is None
