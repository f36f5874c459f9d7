"""The web layer: Flask blueprints with thin views, request parsing, errors,
security headers and rate limits. The only package that imports Flask (with
``ops`` and the app factory); it knows the sandbox only through
``Sandbox.run``, never how a jail is built."""
