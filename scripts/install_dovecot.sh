#!/usr/bin/env bash
# Debian's Dovecot IMAP server for the mailbox tests and benchmarks (they start their own throw-away instance on
# free loopback ports with a temporary configuration: bhxh.devmailbox). Idempotent: does nothing when dovecot
# is already there. Needs root (or sudo) for apt-get. A system dovecot the package may start is stopped again:
# nothing here needs it.
set -euo pipefail
if [ -x /usr/sbin/dovecot ]; then
  echo "dovecot: $(/usr/sbin/dovecot --version 2>/dev/null || echo present)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Cần quyền root để cài dovecot / root is needed to install dovecot"; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 dovecot-imapd openssl
$SUDO invoke-rc.d dovecot stop >/dev/null 2>&1 || true
/usr/sbin/dovecot --version
