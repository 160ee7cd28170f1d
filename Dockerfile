# syntax=docker/dockerfile:1
#
# The billing service: one image for the API, migrations and the payment-retry job.
#
#   docker build -t billing .
#
# Default command: apply the migrations, then serve on :8000 (BILLING_WORKERS processes).
#
#   docker run -p 8000:8000 --env-file billing.env billing
#
# Several replicas on one PostgreSQL: run the migrations once per release as a separate
# step, then start (or roll) the replicas without migrating:
#
#   docker run --rm --env-file billing.env billing billing migrate
#   docker run -p 8000:8000 --env-file billing.env billing \
#       billing serve --host 0.0.0.0 --port 8000 --no-migrate
#
# Payment retries (BILLING_RETRY_SCHEDULE) are charged by a scheduled job, e.g. hourly:
#
#   docker run --rm --env-file billing.env billing billing collect
#
# SIGTERM stops accepting connections and lets in-flight requests finish for up to 30 s,
# then the process exits 0: give the orchestrator a little longer (docker stop --time 35).
# Logs are JSON lines on stdout. The HEALTHCHECK probes port 8000: keep --port 8000 in the
# container and map it as you like. Without BILLING_DATABASE_URL the service uses SQLite in
# /app/data (development only; mount a volume there to keep it).

FROM python:3.11-slim-bookworm AS builder

WORKDIR /src
COPY pyproject.toml ./
COPY app ./app
# Wheels for the project and exactly the dependencies pyproject.toml declares (no dev
# extras), installed into a self-contained virtualenv that the final stage copies whole.
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels . \
 && python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install --no-cache-dir --disable-pip-version-check \
        --no-index --find-links /wheels /wheels/billing-*.whl


FROM python:3.11-slim-bookworm

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BILLING_DATABASE_URL="sqlite+aiosqlite:////app/data/billing.db"

RUN groupadd --system --gid 10001 billing \
 && useradd --system --no-log-init --uid 10001 --gid billing --home-dir /app \
        --shell /usr/sbin/nologin billing \
 && install --directory --owner billing --group billing /app/data

# The code stays owned by root: the service cannot modify itself.
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# `billing migrate` reads ./alembic.ini, which points at ./migrations.
COPY alembic.ini ./
COPY migrations ./migrations

USER 10001:10001
EXPOSE 8000

# Liveness only (no database I/O); the load balancer should probe /readyz instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["billing", "serve", "--host", "0.0.0.0", "--port", "8000"]
