"""WSGI entry point: `gunicorn wsgi:app` serves the API configured from BOXOFFICE_* variables.

Only builds the app with `create_app()`; it must never configure anything itself (the factory does).
"""

from core.app import create_app

app = create_app()
