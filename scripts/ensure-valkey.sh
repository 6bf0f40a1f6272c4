#!/usr/bin/env bash
# Prints the path of a valkey-server (Valkey 8) binary, fetching one when missing:
# Debian bookworm-backports ships valkey 8.0. The package is downloaded with a
# temporary sources list (the machine's apt sources are not touched) and unpacked under
# target/valkey (nothing is installed system-wide). Used by .ci/run for the Valkey pass.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v valkey-server >/dev/null 2>&1; then
  command -v valkey-server
  exit 0
fi
dir="$PWD/target/valkey"
bin="$dir/root/usr/bin/valkey-server"
if [ ! -x "$bin" ]; then
  mkdir -p "$dir/lists" "$dir/cache"
  echo "deb http://deb.debian.org/debian bookworm-backports main" >"$dir/backports.list"
  sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  opts=(-o "Dir::Etc::sourcelist=$dir/backports.list" -o "Dir::Etc::sourceparts=-"
        -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
        -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1")
  $sudo apt-get "${opts[@]}" update >&2
  (cd "$dir" && $sudo apt-get "${opts[@]}" download valkey-server valkey-tools >&2)
  for deb in "$dir"/valkey-*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
fi
"$bin" --version >&2
echo "$bin"
