#!/usr/bin/env bash
# Set up and start the portal with a synthetic demo population, on the project's own PostgreSQL.
#   DCR_DEMO_PEOPLE  how many people to generate (default 2000)
#   DCR_DEMO_ADDR    where to serve (default 127.0.0.1:8000)
source "$(dirname "$0")/_setup.sh"
dcr_setup runtime

export DJANGO_SETTINGS_MODULE=dcr.settings.local
PY=.venv/bin/python
if [ -z "${DATABASE_URL:-}" ]; then
  say "Starting the project's PostgreSQL in var/pg"
  $PY -m dcr.embedded_pg start >/dev/null
  # Stop it cleanly when the demo stops (Ctrl-C).
  trap 'say "Stopping PostgreSQL"; $PY -m dcr.embedded_pg stop >/dev/null' EXIT
fi
say "Migrating the database"
$PY manage.py migrate --no-input -v 0
say "Building the demo population"
$PY manage.py seed_demo --people "${DCR_DEMO_PEOPLE:-2000}"
say "Serving on http://${DCR_DEMO_ADDR:-127.0.0.1:8000}/ (Ctrl-C stops the portal and PostgreSQL)"
$PY manage.py runserver --noreload "${DCR_DEMO_ADDR:-127.0.0.1:8000}"
