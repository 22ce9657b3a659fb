#!/usr/bin/env bash
# Installs the Debian tools the tests and benchmarks use, when one is missing:
#   rsync (benchmark baseline), qemu-utils (qemu-io, qemu-img), libnbd-bin (nbdinfo, nbdcopy),
#   nbdkit (NBD baseline), fio (workloads), util-linux (losetup, fsfreeze), systemd
#   (systemd-analyze verify of the service units in InstallIT).
# Called by .ci/run; safe to run again.
set -euo pipefail
need=()
for tool in rsync:rsync qemu-io:qemu-utils qemu-img:qemu-utils nbdinfo:libnbd-bin nbdcopy:libnbd-bin \
            nbdkit:nbdkit fio:fio fsfreeze:util-linux losetup:mount systemd-analyze:systemd; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "install-test-tools: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
