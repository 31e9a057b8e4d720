"""`check --deploy` warns about a Redis layout that can lose queued tasks or lets anyone in."""

from ops.checks import redis_databases_check


def _ids(settings, cache, broker, results=None):
    settings.REDIS_URL, settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND = cache, broker, results
    return [w.id for w in redis_databases_check()]


def test_separate_databases_with_a_password_pass(settings):
    assert _ids(settings, "redis://:pw@redis:6379/0", "redis://:pw@redis:6379/1") == []


def test_broker_in_the_cache_database_is_flagged(settings):
    """Clearing the cache (FLUSHDB) would drop every queued task."""
    assert _ids(settings, "redis://:pw@redis:6379/0", "redis://:pw@redis:6379") == ["ops.W001"]
    assert _ids(settings, "redis://:pw@redis/0", "redis://:pw@redis:6379/1", "redis://:pw@redis:6379/1") == ["ops.W001"]


def test_redis_without_a_password_is_flagged(settings):
    assert _ids(settings, "redis://redis:6379/0", "redis://redis:6379/1") == ["ops.W002"]


def test_no_redis_at_all_is_not_a_deploy_problem_of_this_check(settings):
    assert _ids(settings, "", "memory://") == []
