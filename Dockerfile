# The playground as a container image: one node (gunicorn, its warm jails).
# Not built on the machine this was written on (no Docker there): see
# docs/deploy.md for what was and was not tried, and what bubblewrap needs.
#
#   docker build -t asyncio-playground .
#   docker run --rm -p 8000:8000 \
#       --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#       asyncio-playground
FROM debian:12-slim

# bubblewrap builds each run's jail; Debian's python3 is the host's Python a
# run can pick (libseccomp2: the jail's filter), and also runs the server from
# a venv; mmdebstrap builds the root of the newer Pythons below.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        bubblewrap python3 libseccomp2 python3-venv ca-certificates gcc python3-dev mmdebstrap \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
# The runtime part of requirements.txt only (everything above "# Tests").
RUN sed '/^# Tests/,$d' requirements.txt > /tmp/runtime.txt \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/runtime.txt \
    && rm /tmp/runtime.txt

COPY wsgi.py gunicorn.conf.py ./
COPY playground/ playground/
COPY templates/ templates/
COPY static/ static/
# Python 3.13, 3.14 and 3.15 from Debian's unstable suite, in a root of their
# own with their aiohttp (pythons.json records the exact versions); then the
# tracer's C accelerator, built for every Python (and the venv's).
RUN /opt/venv/bin/python3 -m playground.sandbox.pythonroot \
    && /opt/venv/bin/python3 -m playground.sandbox.speedups

# The server stays root inside the container so that each jail slot runs as
# a uid of its own (JAIL_UID_BASE + slot); bubblewrap itself always runs as
# that unprivileged uid, never as root.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PLAYGROUND_BIND=0.0.0.0:8000 \
    PLAYGROUND_INSTANCE_PATH=/var/lib/playground
RUN mkdir -p /var/lib/playground
VOLUME /var/lib/playground
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=10s --start-period=20s \
    CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=8)"

# SIGTERM: gunicorn stops taking requests, lets the runs in progress finish
# (graceful_timeout), ends the warm jails and exits.
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
