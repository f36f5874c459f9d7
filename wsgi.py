"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from playground import create_app

app = create_app()
