#!/usr/bin/env bash
# Runs ShellCheck over every shell script of the repository: tracked files named *.sh and tracked
# files whose first line is a sh/bash shebang (e.g. .ci/run), plus untracked ones not ignored by
# git. Part of `make test`; exits non-zero on the first finding ShellCheck reports.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo "shellcheck.sh: shellcheck is not installed (sudo apt-get install -y shellcheck)" >&2; exit 1; }
scripts=()
while IFS= read -r -d '' f; do
    [[ -f "$f" ]] || continue
    case "$f" in
        tests/fixtures/*|target/*) continue ;;
        *.sh) scripts+=("$f") ;;
        *) head -c 64 "$f" 2>/dev/null | head -n1 | grep -Eq '^#!.*(/|env )(ba)?sh( |$)' && scripts+=("$f") ;;
    esac
done < <(git ls-files -z --cached --others --exclude-standard)
((${#scripts[@]})) || { echo "shellcheck.sh: found no scripts" >&2; exit 1; }
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean" >&2
