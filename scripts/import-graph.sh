#!/usr/bin/env bash
# The import graph of DistillLab's targets: prints one line per target with the lab modules its sources
# import, and fails if a target imports one at its own layer or above (a back-edge). The compiler
# already refuses an import a target does not depend on; this holds Package.swift itself to the layers.
# Usage: bash scripts/import-graph.sh   (CI runs it before the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
# Layer of each target, lowest first; targets on one layer may not import each other.
layers=(
    "CBLAS CVector" "LabCore" "LabModel" "LabData" "LabAPI" "LabDefences" "LabAttacks"
    "LabForensics LabCampaigns" "LabSimulation" "LabExperiments" "LabService" "distill-lab"
)
declare -A rank
for i in "${!layers[@]}"; do for t in ${layers[$i]}; do rank[$t]=$i; done; done
status=0
for dir in Sources/*/; do
    target=$(basename "$dir")
    [ "$target" = CBLAS ] || [ "$target" = CVector ] && continue
    if [ -z "${rank[$target]+x}" ]; then
        echo "import-graph: Sources/$target is on no layer; add it to the layers in scripts/import-graph.sh" >&2
        status=1
        continue
    fi
    imports=$(grep -rhoE '^(@_exported |@testable )?import [A-Za-z_]+' "$dir" --include='*.swift' | awk '{print $NF}' | sort -u |
        while read -r m; do if [ -n "${rank[$m]+x}" ]; then echo "$m"; fi; done | tr '\n' ' ' || true)
    printf '%-15s imports %s\n' "$target" "${imports:-(no lab module)}"
    for m in $imports; do
        if [ "${rank[$m]}" -ge "${rank[$target]}" ]; then
            echo "import-graph: $target imports $m, which is on its own layer or above it: move the code down, or the import up" >&2
            grep -rlE "^(@_exported |@testable )?import $m\$" "$dir" --include='*.swift' | sed 's/^/    /' >&2
            status=1
        fi
    done
done
exit $status
