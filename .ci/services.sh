#!/usr/bin/env bash
# Start (or restart) the local RabbitMQ and PostgreSQL this project's tests talk to.
# The commands are the machine's own (see the developer guide); the fault tests call this
# script too, so a restart in a test is the same as a start in CI.
set -euo pipefail

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
rabbit_up() { rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; }

start_postgres() {
  postgres_up && return 0
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 60); do postgres_up && return 0; sleep 0.5; done
  echo "PostgreSQL did not start" >&2; return 1
}

start_rabbitmq() {
  rabbit_up && return 0
  rabbitmq-server -detached
  for _ in $(seq 120); do rabbit_up && return 0; sleep 1; done
  echo "RabbitMQ did not start" >&2; return 1
}

# Stopping is idempotent too: a service that is already down is what the caller wanted.
stop_postgres() {
  postgres_up || return 0
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main stop -m fast || ! postgres_up
}

stop_rabbitmq() {
  rabbit_up || return 0
  rabbitmqctl -q stop || ! rabbit_up
}

case "${1:-start}" in
  start) start_postgres; start_rabbitmq ;;
  start-postgres) start_postgres ;;
  start-rabbitmq) start_rabbitmq ;;
  stop-postgres) stop_postgres ;;
  stop-rabbitmq) stop_rabbitmq ;;
  *) echo "usage: $0 start|start-postgres|start-rabbitmq|stop-postgres|stop-rabbitmq" >&2; exit 2 ;;
esac
