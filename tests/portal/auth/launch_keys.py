"""A partner system's side of a context launch: its keys, and the links it builds (see the README)."""

import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from portal.models import LaunchPartner


def rsa_key_pair():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private, _pem(private.public_key())


def ec_key_pair():
    private = ec.generate_private_key(ec.SECP256R1())
    return private, _pem(private.public_key())


def _pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def launch_link(
    partner: LaunchPartner,
    key,
    *,
    user: str,
    nhs_number: str,
    lifetime: int = 120,
    issued: float | None = None,
    algorithm: str | None = None,
    **extra,
) -> str:
    """The URL a partner opens: /launch/?token=<JWT signed with its key>."""
    now = int(issued if issued is not None else time.time())
    claims = {
        "iss": partner.code,
        "aud": "shared-care-record",
        "sub": user,
        "nhs_number": nhs_number,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        **extra,
    }
    token = jwt.encode(claims, key, algorithm=algorithm or partner.algorithm)
    return f"/launch/?token={token}"
