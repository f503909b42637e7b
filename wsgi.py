"""WSGI entry point: `gunicorn wsgi:app` serves the API configured from BOXOFFICE_* variables."""

from core.app import create_app

app = create_app()
