#!/usr/bin/env bash
# Local stand-ins for the official images, made from Debian's packages, for a machine
# that reaches Debian's archive but no container registry (CI does this):
#
#   litcomp-base/python:bookworm     python3 and venv (3.11): the app image's BASE_IMAGE
#   litcomp-base/python-build:bookworm  the same with gcc and Python's headers: its
#                                    BUILD_IMAGE, which compiles the gateway's hot path
#   litcomp-base/postgres:bookworm   PostgreSQL 15, speaking the official image's
#                                    POSTGRES_USER / _PASSWORD / _DB and PGDATA
#   litcomp-base/redis:bookworm      redis-server and redis-cli
#   litcomp-base/prometheus:bookworm Prometheus, run as the official image runs it
#
# Each is `debootstrap --variant=minbase` with the packages, trimmed, then `docker import`.
# An image that exists already is kept (remove it to make it again). Needs root,
# debootstrap and a running Docker engine. Downloaded packages are kept in
# DEBOOTSTRAP_CACHE (default /var/cache/litcomp/debootstrap) for the next time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${DEBOOTSTRAP_CACHE:-/var/cache/litcomp/debootstrap}
prefix=${IMAGE_PREFIX:-litcomp-base}
default_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"

exists() { docker image inspect "$1" >/dev/null 2>&1; }

# rootfs NAME PACKAGE...: a minimal Debian with these packages in $work/NAME.
rootfs() {
  local name=$1
  shift
  local packages
  packages=$(IFS=,; echo "$*")
  echo "debootstrap $suite for $name: $packages"
  if ! debootstrap --variant=minbase --cache-dir="$cache" --include="$packages" \
    "$suite" "$work/$name" "$mirror" >"$work/$name.log" 2>&1; then
    tail -n 40 "$work/$name.log" >&2
    return 1
  fi
  rm -rf "$work/$name"/var/cache/apt/*.bin "$work/$name"/var/lib/apt/lists/* \
    "$work/$name"/usr/share/doc/* "$work/$name"/usr/share/man/* \
    "$work/$name"/usr/share/locale/*
}

# import NAME IMAGE [--change ...]: the root file system as an image.
import() {
  local name=$1 image=$2
  shift 2
  tar -C "$work/$name" -c . | docker import "$@" - "$image" >/dev/null
  rm -rf "${work:?}/$name"
  echo "made $image"
}

image=$prefix/python:$suite
if ! exists "$image"; then
  rootfs python python3 python3-venv
  import python "$image" \
    --change "ENV PATH=$default_path" --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]'
fi

image=$prefix/python-build:$suite
if ! exists "$image"; then
  rootfs python-build python3 python3-venv python3-dev gcc libc6-dev
  import python-build "$image" \
    --change "ENV PATH=$default_path" --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]'
fi

image=$prefix/postgres:$suite
if ! exists "$image"; then
  rootfs postgres postgresql
  root=$work/postgres
  version=$(ls "$root/usr/lib/postgresql")
  # The package made a cluster of its own; the entry point makes one in $PGDATA instead.
  rm -rf "${root:?}/var/lib/postgresql/$version" "${root:?}/etc/postgresql/$version"
  chroot "$root" install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data
  chroot "$root" install -d -o postgres -g postgres -m 2775 /run/postgresql
  install -m 755 "$here/debian-postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  import postgres "$image" \
    --change "ENV PATH=/usr/lib/postgresql/$version/bin:$default_path" \
    --change 'ENV PGDATA=/var/lib/postgresql/data' --change 'ENV LANG=C.UTF-8' \
    --change 'USER postgres' --change 'VOLUME /var/lib/postgresql/data' \
    --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["postgres"]'
fi

image=$prefix/redis:$suite
if ! exists "$image"; then
  rootfs redis redis-server
  chroot "$work/redis" install -d -o redis -g redis /data
  import redis "$image" \
    --change "ENV PATH=$default_path" --change 'USER redis' --change 'WORKDIR /data' \
    --change 'EXPOSE 6379' --change 'CMD ["redis-server", "--protected-mode", "no"]'
fi

image=$prefix/prometheus:$suite
if ! exists "$image"; then
  rootfs prometheus prometheus
  chroot "$work/prometheus" install -d -o nobody -g nogroup /prometheus
  import prometheus "$image" \
    --change "ENV PATH=$default_path" --change 'USER nobody' --change 'WORKDIR /prometheus' \
    --change 'VOLUME /prometheus' --change 'EXPOSE 9090' \
    --change 'ENTRYPOINT ["/usr/bin/prometheus"]' \
    --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]'
fi
