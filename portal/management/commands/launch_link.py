"""Build a context-launch link as a partner system would: for trying a partner's registration end to end."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.models import LaunchPartner
from records import nhs_numbers


class Command(BaseCommand):
    help = (
        "Print a launch link for a registered partner. Partners with a shared secret are signed with it; "
        "for a key pair, give the partner's private key with --private-key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", required=True, help="The partner's code (its links' iss)")
        parser.add_argument("--user", required=True, help="The user's email address or smartcard id")
        parser.add_argument("--nhs-number", required=True)
        parser.add_argument("--ods", default="", help="The organisation the user works in, optional")
        parser.add_argument("--private-key", type=Path, help="PEM private key, for RS, PS and ES partners")
        parser.add_argument("--lifetime", type=int, default=120, help="Seconds the link is valid (max 300)")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        partner = LaunchPartner.objects.filter(code=options["partner"]).first()
        if partner is None:
            raise CommandError(f"No launch partner with the code {options['partner']!r}.")
        if not nhs_numbers.is_valid(options["nhs_number"]):
            raise CommandError("That is not a valid NHS number.")
        if partner.uses_shared_secret:
            key = partner.shared_secret
        elif options["private_key"]:
            key = options["private_key"].read_text()
        else:
            raise CommandError(
                f"{partner.name} signs with a key pair: give its private key with --private-key."
            )
        now = int(time.time())
        claims = {
            "iss": partner.code,
            "aud": settings.DCR_LAUNCH_AUDIENCE,
            "sub": options["user"],
            "nhs_number": nhs_numbers.normalise(options["nhs_number"]),
            "iat": now,
            "exp": now + options["lifetime"],
            "jti": str(uuid.uuid4()),
        }
        if options["ods"]:
            claims["ods"] = options["ods"]
        token = jwt.encode(claims, key, algorithm=partner.algorithm)
        self.stdout.write(f"{options['base_url'].rstrip('/')}/launch/?token={token}")
