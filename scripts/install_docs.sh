#!/usr/bin/env bash
# Debian's LibreOffice headless (DOCX/XLSX -> PDF), poppler-utils (pdftotext, pdftoppm, pdfsig) and the Liberation
# fonts (the metrics of Times New Roman, which cannot be installed here) for the consolidated documents and their
# tests. Idempotent: does nothing when they are all there. Needs root (or sudo) for apt-get.
set -euo pipefail
have_all() {
  command -v soffice >/dev/null && command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null \
    && [ -f /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf ] \
    && [ -d /usr/lib/libreoffice/program ] && ls /usr/lib/libreoffice/program/libsclo.so >/dev/null 2>&1
}
if have_all; then
  echo "documents: $(soffice --version 2>/dev/null | head -1) | $(pdftotext -v 2>&1 | head -1)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Cần quyền root để cài LibreOffice / root is needed to install LibreOffice"; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 \
  libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils fonts-liberation2 fonts-dejavu-core
soffice --version
fc-match "Times New Roman"
