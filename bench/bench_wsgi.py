"""Bench-only WSGI entry: the real app plus one bare Flask endpoint (the baseline).

Never imported by production code. ``gunicorn bench.bench_wsgi:app`` serves exactly what
``wsgi:app`` serves, plus ``GET /bench/bare`` which answers a constant text without any work:
the same Flask app, request hooks, gunicorn worker and worker class, so ratios compare like
with like.
"""

from share_service import create_app

app = create_app()


@app.get("/bench/bare")
def bare():
    return "ok"
