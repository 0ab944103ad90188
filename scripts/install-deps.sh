#!/usr/bin/env bash
# Installs the Debian packages opsrun needs to build, test and benchmark.
# Runs apt-get update only when something is missing, so a warm machine pays nothing.
set -euo pipefail
build_pkgs=(cmake ninja-build g++ ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcurl4-openssl-dev libyaml-cpp-dev liblua5.4-dev libsqlite3-dev libpq-dev
  libcli11-dev libssl-dev zlib1g-dev libhowardhinnant-date-dev)
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev python3 python3-croniter
  postgresql postgresql-client prometheus curl sqlite3)
bench_pkgs=(wrk nginx-light)
want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); fi
if [[ "${1:-}" == "--bench" ]]; then want+=("${test_pkgs[@]}" "${bench_pkgs[@]}"); fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing missing packages: ${missing[*]}"
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
