"""Celery settings for a worker that dies (issue 14, item 12): late acks, requeue on a lost
child, a time limit on every task, and a broker visibility timeout longer than all of them."""

from crm.celery import app as celery_app


def project_tasks() -> list[str]:
    celery_app.loader.import_default_modules()
    return sorted(name for name in celery_app.tasks if not name.startswith("celery."))


def test_a_lost_childs_task_is_requeued_not_acknowledged():
    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True
    assert celery_app.conf.worker_prefetch_multiplier == 1


def test_every_task_has_a_soft_and_a_hard_time_limit():
    for name in project_tasks():
        task = celery_app.tasks[name]
        soft = task.soft_time_limit or celery_app.conf.task_soft_time_limit
        hard = task.time_limit or celery_app.conf.task_time_limit
        assert soft, name
        assert hard, name
        assert soft < hard, name
    # the long task classes get longer limits than the default 5/6 minutes
    compute = celery_app.tasks["kpis.tasks.compute_kpis_for_period"]
    assert (compute.soft_time_limit, compute.time_limit) == (19 * 60, 20 * 60)
    run = celery_app.tasks["crm.importing.tasks.import_upload_run"]
    assert (run.soft_time_limit, run.time_limit) == (59 * 60, 60 * 60)


def test_the_visibility_timeout_outlasts_every_task_and_retry_wait():
    longest = max(
        (celery_app.tasks[name].time_limit or celery_app.conf.task_time_limit)
        for name in project_tasks()
    )
    # the longest retry wait: the reply e-mail's 4th retry, 60 s × 2⁴
    longest_retry_wait = 60 * 2**4
    visibility = celery_app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > max(longest, longest_retry_wait)
    assert visibility == 2 * 60 * 60
