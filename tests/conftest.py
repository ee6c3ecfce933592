import pytest
from django.db import connection

from dcr.celery import app as celery_app
from tests.records.factories import MembershipFactory, UserFactory
from tests.services import CeleryWorker, running_redis

PASSWORD = "correct horse battery staple"


@pytest.fixture
def gp_user(db):
    """A GP with a membership at a practice."""
    return MembershipFactory().user


@pytest.fixture
def user_without_role(db):
    return UserFactory()


@pytest.fixture(scope="session")
def redis_url():
    with running_redis() as url:
        yield url


def _reconnect(app) -> None:
    """Drop cached broker connections and result backend so the next send uses the current conf."""
    app._after_fork()
    app._backend_cache = None
    if hasattr(app._local, "backend"):
        del app._local.backend


@pytest.fixture
def celery_worker(transactional_db, redis_url):
    """A real worker process on the real Redis; tasks sent from the test go to it, not in-process.

    Uses transactional_db so that what the test writes is committed and the worker can read it.
    """
    worker = CeleryWorker(redis_url, connection.settings_dict)
    previous = {
        key: celery_app.conf[key]
        for key in ("broker_url", "result_backend", "task_always_eager", "task_default_queue")
    }
    celery_app.conf.update(
        broker_url=redis_url,
        result_backend=redis_url,
        task_always_eager=False,
        task_default_queue=worker.queue,
    )
    _reconnect(celery_app)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        celery_app.conf.update(previous)
        _reconnect(celery_app)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright's own browser download cannot work on this network."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture
def screenshot(page, request):
    """Save a full-page screenshot into test-results/screenshots/, named after the test and the step."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "test-results" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(step: str) -> Path:
        path = folder / f"{request.node.name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Test teardown empties tables with TRUNCATE; only test databases let it through the audit trigger."""
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE \"{name}\" SET dcr.audit_truncate_allowed = 'on'")
        connection.close()  # new connections pick the setting up
