"""Status events for API clients: the outbox written with each status change (`outbox`), its delivery to the
clients' callback URLs (`delivery`, run by `manage.py runcallbacks`) and the pull feed (`feed`)."""
