"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""

from share_service import create_app

app = create_app()
