from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.verify import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Check the access trail's hash chain; exits 1 and lists every altered, removed or re-ordered event."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        checked, problems = audit_chain_verify()
        for problem in problems:
            self.stdout.write(f"event seq={problem.seq} id={problem.event_id}: {problem.problem}")
        if problems:
            raise CommandError(
                f"{len(problems)} problem(s) in {checked} access events: the trail has been tampered with"
            )
        self.stdout.write(self.style.SUCCESS(f"{checked} access events checked: the trail is intact"))
