#!/usr/bin/env bash
# Installs the Debian packages DistillLab links against (OpenBLAS and LAPACKE headers and libraries;
# SQLite's for the service's ledger, which GRDB needs on Linux), and through scripts/corpora.sh the
# built-in text corpora, when they are missing. Run by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
missing=()
for p in libopenblas-dev liblapacke-dev libsqlite3-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
        sudo=sudo
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
# The built-in text corpora (Debian packages read in place).
bash "$(dirname "${BASH_SOURCE[0]}")/corpora.sh"
