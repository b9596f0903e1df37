#!/usr/bin/env bash
# Installs the Debian packages that hold the built-in natural-language corpora (`kind: text`, `source: NAME`)
# when they are missing. The lab reads them where the packages put them; nothing is copied into the repository.
# Called by scripts/deps.sh. Keep the list in step with LabData's NamedCorpus.all.
set -euo pipefail
missing=()
for p in fortunes; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing corpora: ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install ${missing[*]}; the built-in text corpora stay unavailable" >&2; exit 0; }
        sudo=sudo
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
