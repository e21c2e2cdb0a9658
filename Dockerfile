FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BIND=0.0.0.0:8000
WORKDIR /app
COPY pyproject.toml README.md ./
COPY share_service ./share_service
COPY templates ./templates
COPY config ./config
COPY wsgi.py gunicorn.conf.py ./
RUN pip install --no-cache-dir -e . && useradd --system --home /app share && mkdir -p /app/instance && chown share /app/instance
USER share
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
