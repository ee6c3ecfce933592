# Shared by demo.sh and test.sh: install what is missing, idempotently. Sourced, not run.
# Usage: dcr_setup runtime|dev
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "Needs root to install system packages: $*" >&2; return 1; fi
}

apt_install() {
  # Only the packages that are missing; --no-install-recommends keeps systemd and friends out.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_if_needed apt-get -o DPkg::Lock::Timeout=300 update -qq
  sudo_if_needed apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

python_env() {
  local lock="$1"
  local python="${DCR_PYTHON:-python3}"
  if ! command -v uv >/dev/null 2>&1; then
    say "Installing uv"
    "$python" -m pip install -q uv 2>/dev/null || "$python" -m pip install -q --user uv
    export PATH="$HOME/.local/bin:$PATH"
  fi
  if [ ! -x .venv/bin/python ]; then
    say "Creating .venv"
    uv venv -q --python "$python" .venv
  fi
  say "Installing Python dependencies ($lock)"
  VIRTUAL_ENV="$ROOT/.venv" uv pip install -q -r "$lock"
}

node_packages() {
  if [ ! -d node_modules/nhsuk-frontend ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    command -v npm >/dev/null || apt_install nodejs npm
    say "Installing front-end packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

dcr_setup() {
  local profile="$1"
  # fonts-dejavu-core: subject-access PDFs print names with diacritics (Łucja, Ștefan, Zoë).
  local packages=(postgresql postgresql-contrib fonts-dejavu-core)
  [ "$profile" = dev ] && packages+=(redis-server chromium)
  apt_install "${packages[@]}"
  if [ "$profile" = dev ]; then python_env requirements-dev.lock; else python_env requirements.lock; fi
  node_packages
}
