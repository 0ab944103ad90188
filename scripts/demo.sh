#!/usr/bin/env bash
# Placeholder until `opsrun serve` lands: validates and dry-runs the shipped runbooks.
set -euo pipefail
./build/opsrun
