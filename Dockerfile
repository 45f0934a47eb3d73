# syntax=docker/dockerfile:1
# One image for every imagequeue process: `serve`, `worker` and `migrate` are its commands.
# Stages: web (Node builds web/dist), build (pip installs the project into a venv),
# runtime (slim Python, the venv and the assets, a non-root user). Build: docker build .

# --- web assets -------------------------------------------------------------------------
# web/ is the web app's contract: package.json + package-lock.json, and `npm run build`
# writes static files to web/dist.
FROM node:20-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci
COPY web/ ./
RUN npm run build

# --- Python install ---------------------------------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY infra/ infra/
COPY server/ server/
COPY worker/ worker/
COPY cli/ cli/
# `make install` runs the same command with -e and the dev extra (tests/test_deploy_files.py).
RUN /opt/venv/bin/python -m pip install .

# --- runtime ----------------------------------------------------------------------------
FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 imagequeue \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin imagequeue \
 && mkdir -p /app /data \
 && chown imagequeue:imagequeue /data
COPY --from=build /opt/venv /opt/venv
COPY --from=web /src/web/dist /app/web/dist
# /data is owned by the user, so a fresh named volume mounted there starts writable.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    STORAGE_DIR=/data \
    LOG_FORMAT=json
WORKDIR /app
# Numeric, so an orchestrator's runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000 9100
ENTRYPOINT ["imagequeue"]
CMD ["serve", "--host", "0.0.0.0"]
