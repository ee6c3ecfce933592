from celery import shared_task


@shared_task
def opt_outs_enforce_task() -> dict[str, int]:
    from consent import services

    return services.opt_outs_enforce()
