# One image for every litcomp service; the command picks it:
#   docker run litcomp serve users|competitions|gateway|discovery
#
# Python packages come from a wheelhouse made on the host (deploy/docker/wheelhouse.sh),
# so the build itself needs no network. BASE_IMAGE is any Debian-based image with
# Python 3.11 and venv: the official slim image by default; CI passes one it made
# from Debian's packages (deploy/docker/debian-images.sh). BUILD_IMAGE is the same
# Python with a C compiler and Python's headers, for the build stage, which compiles the
# gateway's hot path with mypyc (litcomp.compiled). Its Python must be BASE_IMAGE's, at
# the same path (the environment is copied; the final stage checks that it runs): the
# build is used only by the same Python version, and a BUILD_IMAGE without a compiler
# gives an image that runs the gateway interpreted (the build and the gateway say which).
ARG BASE_IMAGE=python:3.11-slim-bookworm
ARG BUILD_IMAGE=python:3.11-bookworm

FROM ${BUILD_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/litcomp/requirements.lock
COPY build/wheelhouse /tmp/litcomp/wheels
# A virtual environment of exactly the pinned packages and litcomp, the hot path compiled
# into it by mypy and setuptools installed beside it (/tmp, not kept), then without the
# installers (nothing in the final image can install anything).
RUN python3 -m venv /opt/litcomp \
 && /opt/litcomp/bin/pip install --quiet --no-index --find-links /tmp/litcomp/wheels \
      -r /tmp/litcomp/requirements.lock \
 && /opt/litcomp/bin/pip install --quiet --no-index --find-links /tmp/litcomp/wheels \
      --no-deps litcomp \
 && /opt/litcomp/bin/pip install --quiet --no-index --find-links /tmp/litcomp/wheels/compile \
      --target /tmp/litcomp/compile mypy setuptools \
 && PYTHONPATH=/tmp/litcomp/compile /opt/litcomp/bin/litcomp compile \
 && /opt/litcomp/bin/pip uninstall --quiet --yes setuptools pip

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 litcomp \
 && useradd --system --uid 10001 --gid litcomp --home-dir /var/lib/litcomp --create-home \
      --shell /usr/sbin/nologin litcomp
COPY --from=build /opt/litcomp /opt/litcomp
# The environment's python links to BUILD_IMAGE's interpreter: it must be BASE_IMAGE's.
RUN /opt/litcomp/bin/python -c "from litcomp import compiled; \
print('litcomp: the gateway runs', 'compiled' if compiled.active() else 'interpreted')"
COPY deploy/docker/healthcheck.py /opt/litcomp/healthcheck.py
# Container defaults: listen on every interface, register the container's own address
# (its hostname, unless LITCOMP_ADVERTISE_HOST says otherwise), fixed ports.
ENV PATH=/opt/litcomp/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LITCOMP_HOST=0.0.0.0 \
    LITCOMP_VAR_DIR=/var/lib/litcomp \
    LITCOMP_USERS_HTTP_PORT=8080 \
    LITCOMP_USERS_GRPC_PORT=9090 \
    LITCOMP_COMPETITIONS_HTTP_PORT=8080 \
    LITCOMP_COMPETITIONS_GRPC_PORT=9090 \
    LITCOMP_COMPETITIONS_WS_PORT=8081
USER litcomp
WORKDIR /var/lib/litcomp
# gateway 8000, discovery 8500; users and competitions HTTP 8080, gRPC 9090;
# competitions' notification WebSocket 8081
EXPOSE 8000 8500 8080 8081 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "/opt/litcomp/healthcheck.py"]
ENTRYPOINT ["litcomp"]
CMD ["serve", "gateway"]
