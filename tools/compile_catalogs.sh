#!/usr/bin/env bash
# Compiles the gettext catalogs (assets/locale/*/LC_MESSAGES/kiosk.po -> kiosk.mo) with GNU msgfmt
# (Debian package gettext). The .mo files are committed, so only someone editing a .po needs this.
set -euo pipefail
cd "$(dirname "$0")/.."
for po in assets/locale/*/LC_MESSAGES/kiosk.po; do
  msgfmt --check -o "${po%.po}.mo" "$po"
done
