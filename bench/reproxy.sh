#!/usr/bin/env bash
# Entry point of the reproxy benchmark; the work is done by reproxy.py (python3,
# stdlib only). All arguments are passed through; see bench/README.md or `--help`.
set -euo pipefail
command -v python3 >/dev/null || { echo "reproxy bench: python3 is required" >&2; exit 1; }
exec python3 "$(dirname "${BASH_SOURCE[0]}")/reproxy.py" "$@"
