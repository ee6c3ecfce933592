"""Partner systems that may open the portal on one person (context launch), and each launch they made."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models


class LaunchPartner(models.Model):
    """A partner system (a GP or hospital record) registered to open the portal on one person.

    Its launch links are JWTs signed with its private key (verified here with the public key) or, for
    partners that cannot hold a key pair, with a shared secret (HMAC). The algorithm is fixed per partner,
    so a link cannot choose a weaker one.
    """

    class Algorithm(models.TextChoices):
        RS256 = "RS256", "RS256 (RSA, SHA-256)"
        RS384 = "RS384", "RS384 (RSA, SHA-384)"
        RS512 = "RS512", "RS512 (RSA, SHA-512)"
        PS256 = "PS256", "PS256 (RSA-PSS, SHA-256)"
        ES256 = "ES256", "ES256 (ECDSA P-256)"
        ES384 = "ES384", "ES384 (ECDSA P-384)"
        HS256 = "HS256", "HS256 (shared secret)"
        HS512 = "HS512", "HS512 (shared secret)"

    organisation = models.ForeignKey(
        "records.Organisation", on_delete=models.PROTECT, related_name="launch_partners"
    )
    code = models.SlugField(
        max_length=24,
        unique=True,
        help_text="What the partner puts in its links' iss claim, e.g. 'dch-epr'.",
    )
    name = models.CharField(
        max_length=200, help_text="The partner system, e.g. 'Dorset County Hospital EPR'."
    )
    algorithm = models.CharField(max_length=8, choices=Algorithm.choices, default=Algorithm.RS256)
    public_key = models.TextField(blank=True, help_text="PEM public key, for RS, PS and ES algorithms.")
    shared_secret = models.CharField(
        max_length=256, blank=True, help_text="At least 32 characters, for HS algorithms only."
    )
    active = models.BooleanField(default=True, help_text="Links from an inactive partner are refused.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def uses_shared_secret(self) -> bool:
        return self.algorithm.startswith("HS")

    def verification_key(self):
        """The key that verifies this partner's links."""
        if self.uses_shared_secret:
            return self.shared_secret
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        return load_pem_public_key(self.public_key.strip().encode())

    def clean(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        if self.uses_shared_secret:
            if len(self.shared_secret) < 32:
                raise ValidationError({"shared_secret": "A shared secret must be at least 32 characters."})
            return
        if not self.public_key.strip():
            raise ValidationError({"public_key": f"{self.algorithm} needs the partner's public key (PEM)."})
        try:
            key = self.verification_key()
        except ValueError:
            raise ValidationError({"public_key": "This is not a PEM public key."}) from None
        expected = ec.EllipticCurvePublicKey if self.algorithm.startswith("ES") else rsa.RSAPublicKey
        if not isinstance(key, expected):
            raise ValidationError({"public_key": f"{self.algorithm} needs an {expected.__name__[:-9]} key."})


class ContextLaunch(models.Model):
    """One launch link received. Its jti is unique per partner, so a link opens the portal once."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting for the user to sign in"
        OPENED = "opened", "Record opened"
        REFUSED = "refused", "Refused"

    partner = models.ForeignKey(LaunchPartner, on_delete=models.PROTECT, related_name="launches")
    jti = models.CharField("link id (jti)", max_length=200)
    received_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    user_claim = models.CharField(max_length=254, help_text="The user as the partner named them (sub).")
    user = models.ForeignKey(
        "records.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="context_launches"
    )
    nhs_number = models.CharField(max_length=10)
    organisation_ods = models.CharField(max_length=12, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.PENDING)
    refusal = models.CharField(max_length=200, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "jti"], name="context_launch_jti_once"),
        ]

    def __str__(self) -> str:
        return f"{self.partner.code} {self.jti}"
