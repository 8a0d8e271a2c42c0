#!/usr/bin/env bash
# Debian's PostgreSQL and PostGIS for the database backend's tests (the test session starts a throwaway
# cluster of its own with them, as an unprivileged user), and GDAL's command-line tools, the client
# analysts point at the database and the OGC API.
set -euo pipefail
have_postgis() {
    ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 && command -v ogrinfo >/dev/null 2>&1
}
if have_postgis; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
# postgresql pulls the distribution's server version; its PostGIS package is named after that version.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "postgresql-${version}-postgis-3" gdal-bin >/dev/null
have_postgis
