# One image for every Python service: web, worker, beat, sender and the simulated carrier nodes.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install -e . && DEBUG=true python manage.py collectstatic --noinput
RUN useradd --system --home /app app && chown -R app /app
USER app
EXPOSE 8000
CMD ["gunicorn", "sms_contract.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
