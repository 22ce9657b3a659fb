#!/usr/bin/env bash
# Installs a replicator distribution (replicator-VERSION.tar.gz, built by `mvn -B package` into
# replicator-cli/target/) on this host:
#   PREFIX (/opt/replicator)     bin/replicator, lib/, systemd/ templates, docs
#   ETC    (/etc/replicator)     agent.conf, target.conf (never overwritten; *.sample always), logback.xml
#   DATA   (/var/lib/replicator) state of agents and targets (mode 0750, owned by USER)
#   units  (/etc/systemd/system) replicator-agent.service, replicator-target.service
#   link   (/usr/local/bin/replicator)
# Run from the repository (uses the built archive), from an extracted archive, or with --archive.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: install.sh [options]
  --archive FILE        the distribution to install (default: the extracted one around this script,
                        else replicator-cli/target/replicator-*.tar.gz of this repository)
  --prefix DIR          program files (default /opt/replicator)
  --etc DIR             configuration (default /etc/replicator)
  --data DIR            state and replicas (default /var/lib/replicator)
  --user NAME           service user (default replicator); created unless --no-user
  --no-user             do not create the user (it must exist when the services start)
  --agent-groups LIST   supplementary groups of the agent service (default disk: reads block devices)
  --systemd-dir DIR     where units go (default /etc/systemd/system)
  --no-systemd          install no units
  --bin-link DIR        where to link bin/replicator (default /usr/local/bin; 'none' for no link)
  --enable SERVICES     enable and start units after installing: agent, target or agent,target
  -h, --help            this text
USAGE
}

fail() { echo "install.sh: $*" >&2; exit 2; }

PREFIX=/opt/replicator
ETC=/etc/replicator
DATA=/var/lib/replicator
SERVICE_USER=replicator
CREATE_USER=1
AGENT_GROUPS=disk
SYSTEMD_DIR=/etc/systemd/system
SYSTEMD=1
BIN_LINK=/usr/local/bin
ENABLE=""
ARCHIVE=""

while [ $# -gt 0 ]; do
  case "$1" in
    --archive) ARCHIVE="${2:?--archive needs a file}"; shift 2 ;;
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift 2 ;;
    --etc) ETC="${2:?--etc needs a directory}"; shift 2 ;;
    --data) DATA="${2:?--data needs a directory}"; shift 2 ;;
    --user) SERVICE_USER="${2:?--user needs a name}"; shift 2 ;;
    --no-user) CREATE_USER=0; shift ;;
    --agent-groups) AGENT_GROUPS="${2:?--agent-groups needs a list}"; shift 2 ;;
    --systemd-dir) SYSTEMD_DIR="${2:?--systemd-dir needs a directory}"; shift 2 ;;
    --no-systemd) SYSTEMD=0; shift ;;
    --bin-link) BIN_LINK="${2:?--bin-link needs a directory or none}"; shift 2 ;;
    --enable) ENABLE="${2:?--enable needs agent, target or agent,target}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; fail "unknown option '$1'" ;;
  esac
done

for dir in "$PREFIX" "$ETC" "$DATA"; do
  case "$dir" in /*) ;; *) fail "'$dir' is not an absolute path" ;; esac
done
case "$SERVICE_USER" in ''|*[!a-z0-9_-]*) fail "user name '$SERVICE_USER' is not valid" ;; esac

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK=""
cleanup() { if [ -n "$WORK" ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

# Where the distribution's files are: SRC/bin/replicator, SRC/lib, ...
if [ -z "$ARCHIVE" ] && [ -x "$HERE/bin/replicator" ] && [ -d "$HERE/lib" ]; then
  SRC="$HERE"
else
  if [ -z "$ARCHIVE" ]; then
    ARCHIVE=$(compgen -G "$HERE/../replicator-cli/target/replicator-*.tar.gz" | head -1 || true)
    [ -n "$ARCHIVE" ] || fail "no distribution found: run 'mvn -B package' first, or pass --archive FILE"
  fi
  [ -f "$ARCHIVE" ] || fail "archive '$ARCHIVE' does not exist"
  WORK=$(mktemp -d)
  tar -xzf "$ARCHIVE" -C "$WORK"
  SRC=$(compgen -G "$WORK/replicator-*" | head -1 || true)
  [ -n "$SRC" ] && [ -x "$SRC/bin/replicator" ] || fail "'$ARCHIVE' is not a replicator distribution"
fi
VERSION=$(basename "$(compgen -G "$SRC/lib/replicator-cli-*.jar" | head -1)" .jar)
VERSION=${VERSION#replicator-cli-}

if [ "$CREATE_USER" = 1 ] && ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
  useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
    --comment "replicator services" "$SERVICE_USER"
  echo "created system user $SERVICE_USER"
fi

# Program files: replaced as a whole so no jar of an older version lingers in lib/. Run from an
# installed prefix (PREFIX/install.sh), they are already in place.
mkdir -p "$PREFIX"
if [ "$(cd "$SRC" && pwd -P)" != "$(cd "$PREFIX" && pwd -P)" ]; then
  rm -rf "$PREFIX/lib.new"
  cp -R "$SRC/lib" "$PREFIX/lib.new"
  rm -rf "$PREFIX/lib"
  mv "$PREFIX/lib.new" "$PREFIX/lib"
  for part in bin conf systemd docs; do
    if [ -d "$SRC/$part" ]; then
      rm -rf "${PREFIX:?}/$part"
      cp -R "$SRC/$part" "$PREFIX/$part"
    fi
  done
  for file in README.md install.sh; do
    if [ -f "$SRC/$file" ]; then cp "$SRC/$file" "$PREFIX/$file"; fi
  done
fi
chmod 0755 "$PREFIX/bin/replicator"

render() {
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@ETC@|$ETC|g" -e "s|@DATA@|$DATA|g" -e "s|@USER@|$SERVICE_USER|g" \
      -e "s|@AGENT_GROUPS@|$AGENT_GROUPS|g" "$1"
}

# Configuration: samples always, the live files only if absent (an upgrade keeps the admin's).
mkdir -p "$ETC"
for conf in agent target; do
  render "$SRC/conf/$conf.conf.sample" > "$ETC/$conf.conf.sample"
  if [ ! -e "$ETC/$conf.conf" ]; then
    cp "$ETC/$conf.conf.sample" "$ETC/$conf.conf"
    chmod 0640 "$ETC/$conf.conf"
  fi
done
if [ ! -e "$ETC/logback.xml" ]; then
  cp "$SRC/conf/logback.xml" "$ETC/logback.xml"
fi

mkdir -p "$DATA"
chmod 0750 "$DATA"
if id -u "$SERVICE_USER" >/dev/null 2>&1; then
  chown "$SERVICE_USER:" "$DATA"
  chgrp "$SERVICE_USER" "$ETC/agent.conf" "$ETC/target.conf" 2>/dev/null || true
fi

if [ "$BIN_LINK" != none ]; then
  mkdir -p "$BIN_LINK"
  ln -sfn "$PREFIX/bin/replicator" "$BIN_LINK/replicator"
fi

if [ "$SYSTEMD" = 1 ]; then
  mkdir -p "$SYSTEMD_DIR"
  for unit in replicator-agent replicator-target; do
    render "$SRC/systemd/$unit.service.in" > "$SYSTEMD_DIR/$unit.service"
    chmod 0644 "$SYSTEMD_DIR/$unit.service"
  done
  if [ "$SYSTEMD_DIR" = /etc/systemd/system ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
fi

if [ -n "$ENABLE" ]; then
  [ "$SYSTEMD" = 1 ] || fail "--enable needs the units (drop --no-systemd)"
  for service in ${ENABLE//,/ }; do
    case "$service" in
      agent|target) systemctl enable --now "replicator-$service.service" ;;
      *) fail "--enable takes agent, target or agent,target, not '$service'" ;;
    esac
  done
fi

echo "installed replicator $VERSION in $PREFIX (configs in $ETC, data in $DATA)"
if [ "$SYSTEMD" = 1 ] && [ -z "$ENABLE" ]; then
  echo "next: edit $ETC/target.conf or $ETC/agent.conf, then:"
  echo "  systemctl enable --now replicator-target   # recovery site"
  echo "  systemctl enable --now replicator-agent    # production host"
fi
