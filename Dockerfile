# share_service: the web service under gunicorn, run by an unprivileged user.
#   docker build -t share-service .          (or: docker compose up --build)
# Only what the service runs is copied (and .dockerignore keeps the rest out of the build
# context): no tests, benchmarks, docs, .git or virtualenv. Guide: docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BIND=0.0.0.0:8000

WORKDIR /app
# Installed in editable mode on purpose: the service finds config/ and templates/ beside its
# package (share_service/config.py: ROOT), so the source tree stays in /app, owned by root and
# read-only for the service. Only /app/instance (generated secret key, the embedded Redis when
# REDIS_URL is unset, recommendation snapshots) belongs to the service's user.
COPY pyproject.toml README.md ./
COPY share_service ./share_service
COPY templates ./templates
COPY config ./config
COPY wsgi.py gunicorn.conf.py ./
RUN pip install --no-cache-dir -e . \
 && python -m compileall -q share_service \
 && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin share \
 && mkdir -p /app/instance \
 && chown share:share /app/instance \
 && chmod 0750 /app/instance

USER 10001:10001
EXPOSE 8000
# Liveness: /healthz answers 200 while the service answers (its body says whether Redis does).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('BIND', '0.0.0.0:8000').rsplit(':', 1)[1]; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
