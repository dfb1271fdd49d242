#!/bin/sh
# Installs the system packages listed in scripts/system-packages.txt (Debian or Ubuntu), as root
# or through sudo. Used by the README's set-up command and by .ci/run, so the two cannot drift.
set -eu
list="$(dirname "$0")/system-packages.txt"
packages=$(sed -e "s/#.*//" "$list" | xargs)
[ -n "$packages" ] || { echo "install-deps: no packages in $list" >&2; exit 1; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root, or install sudo" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: $packages" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # one word per package
$SUDO apt-get install -y -qq $packages >/dev/null
