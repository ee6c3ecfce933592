"""`manage.py seed_roles [--reset]`: the default roles, for a new deployment."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from records.roles import ROLE_CATALOGUE, role_catalogue_sync


class Command(BaseCommand):
    help = (
        "Create the default roles (GP, nurse, paramedic, social worker, privacy officer...) where missing. "
        "Roles edited in Django admin keep their edits unless --reset is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Restore catalogue roles to their defaults.")

    def handle(self, *args: Any, reset: bool, **options: Any) -> None:
        roles = role_catalogue_sync(reset=reset)
        for spec in ROLE_CATALOGUE:
            role = roles[spec.code]
            self.stdout.write(f"{role.code:<28} {role.job_role_code or '-':<6} {', '.join(role.categories)}")
