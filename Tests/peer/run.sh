#!/usr/bin/env bash
# Peer-tool tests of `canopy serve` (see README.md). Needs the debug build (swift build).
set -euo pipefail
cd "$(dirname "$0")"
python3 test_cot.py
python3 test_asterix.py
python3 test_cat062.py
python3 test_browser.py
