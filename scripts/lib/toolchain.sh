# Sourced by the scripts: where the project's Python lives and how to run it.
#
# Home Assistant 2026.11 needs Python >= 3.14.2. A machine that has one uses it directly.
# Otherwise scripts/setup builds a Debian sid root in the cache (sid packages Python 3.14 as
# binaries; its source package cannot be fetched, so there is nothing to compile) and makes
# the venv inside it; every command then runs in that root, with the project mounted at its
# own path, so paths look the same inside and out. The mounts live in a private mount
# namespace and vanish with the command.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${RLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rlink-ha}"
sid_root="$cache/sid-root"
# RLINK_VENV names another venv (scripts/test --forward keeps one for the newest release).
venv="${RLINK_VENV:-$repo/.venv}"
export RLINK_VENV="$venv"
# Present when .venv was made inside the sid root; holds the root's path.
venv_root_marker="$venv/.sid-root"

say() { printf '==> %s\n' "$*"; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Runs "$@" inside the sid root ROOT: in_root ROOT COMMAND...
in_root() {
  local root="$1"; shift
  unshare --mount --propagation private -- bash "$repo/scripts/lib/enter-root" "$root" "$repo" "$cache" "$PWD" "$@"
}

# Runs "$@" where the venv's Python works: here, or inside the sid root.
in_toolchain() {
  if [ -f "$venv_root_marker" ]; then in_root "$(cat "$venv_root_marker")" "$@"; else "$@"; fi
}

# True once scripts/setup has made a venv that runs.
venv_ready() { [ -e "$venv/bin/python" ] && in_toolchain "$venv/bin/python" -c '' 2>/dev/null; }
