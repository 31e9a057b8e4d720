# One image for every Python service: web, worker, beat, sender, backup and the simulated carrier nodes.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# WeasyPrint's libraries and a CJK font (PDFs), curl (health check), pg_dump/pg_restore 15 (backups).
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei curl postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --create-home --home-dir /home/app app
WORKDIR /app
# Exactly the versions CI tested, hash-checked (requirements/prod.txt, `make lock`); a layer of its own.
COPY requirements/prod.txt requirements/prod.txt
RUN pip install --require-hashes --no-deps -r requirements/prod.txt
# .dockerignore keeps .env, .git, certificates, local data and the tests out.
COPY . .
RUN python scripts/lock_check.py --prod-only \
    && DEBUG=true STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/media /backups && chown app:app /app/media /backups
USER app
EXPOSE 8000
CMD ["gunicorn", "-c", "python:sms_contract.gunicorn_conf", "--bind", "0.0.0.0:8000"]
