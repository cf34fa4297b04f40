# Heard for production: one `heard serve` process per container (docker-compose.yml runs
# three behind nginx on one PostgreSQL). Build: docker build -t heard .
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY adapters adapters
COPY dialogs dialogs
COPY storage storage
RUN python -m venv /opt/heard \
 && /opt/heard/bin/pip install --no-cache-dir ".[postgresql]"

FROM python:3.11-slim
# a user without a login and without rights outside its own folder
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/heard --create-home \
        --shell /usr/sbin/nologin heard \
 && install -d -o heard -g heard /var/lib/heard/files /var/lib/heard/models
COPY --from=build /opt/heard /opt/heard
COPY deploy/start.sh /usr/local/bin/heard-start
ENV PATH=/opt/heard/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HEARD_HOST=0.0.0.0 \
    HEARD_PORT=8080 \
    HEARD_WORKERS=1 \
    HEARD_FILES=/var/lib/heard/files \
    HEARD_MODEL_DIR=/var/lib/heard/models
USER heard
WORKDIR /var/lib/heard
EXPOSE 8080
# healthy while /healthz answers 200 (store reachable, not stopping); no curl in the image
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HEARD_PORT', '8080') + '/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["heard-start"]
