# One image for every litcomp service; the command picks it:
#   docker run litcomp serve users|competitions|gateway|discovery
#
# Python packages come from a wheelhouse made on the host (deploy/docker/wheelhouse.sh),
# so the build itself needs no network. BASE_IMAGE is any Debian-based image with
# Python 3.11 and venv: the official slim image by default; CI passes one it made
# from Debian's packages (deploy/docker/debian-images.sh). BUILD_IMAGE is the same
# Python with a C compiler and Python's headers, for the build stage, which builds litcomp
# with the gateway's hot path compiled by mypyc (setup.py). Its Python must be BASE_IMAGE's,
# at the same path (the environment is copied; the final stage checks that it runs): the
# build is used only by the same Python version, and a BUILD_IMAGE without a compiler
# gives an image that runs the gateway interpreted (the build and the gateway say which).
ARG BASE_IMAGE=python:3.11-slim-bookworm
ARG BUILD_IMAGE=python:3.11-bookworm

FROM ${BUILD_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/litcomp/requirements.lock
COPY build/wheelhouse /tmp/litcomp/wheels
COPY setup.py pyproject.toml README.md /tmp/litcomp/source/
COPY src /tmp/litcomp/source/src
# A virtual environment of exactly the pinned packages, then litcomp built into it with
# LITCOMP_COMPILE=1 when there is a compiler, by mypy and setuptools installed beside it
# (/tmp, not kept), then without the installers (nothing in the final image can install).
RUN python3 -m venv /opt/litcomp \
 && /opt/litcomp/bin/pip install --quiet --no-index --find-links /tmp/litcomp/wheels \
      -r /tmp/litcomp/requirements.lock \
 && /opt/litcomp/bin/pip install --quiet --no-index --find-links /tmp/litcomp/wheels/compile \
      --target /tmp/litcomp/compile mypy setuptools \
 && if command -v cc >/dev/null; then compile=1; else compile=0; fi \
 && LITCOMP_COMPILE=$compile PYTHONPATH=/tmp/litcomp/compile /opt/litcomp/bin/pip install \
      --quiet --no-index --no-build-isolation --no-deps /tmp/litcomp/source \
 && /opt/litcomp/bin/pip uninstall --quiet --yes setuptools pip

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 litcomp \
 && useradd --system --uid 10001 --gid litcomp --home-dir /var/lib/litcomp --create-home \
      --shell /usr/sbin/nologin litcomp
COPY --from=build /opt/litcomp /opt/litcomp
# The environment's python links to BUILD_IMAGE's interpreter: it must be BASE_IMAGE's.
RUN /opt/litcomp/bin/python -c "from litcomp.gateway.process import hot_path_compiled; \
print('litcomp: the gateway runs', 'compiled' if hot_path_compiled() else 'interpreted')"
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
