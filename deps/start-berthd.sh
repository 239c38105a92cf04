#!/usr/bin/env bash
# Start an installed berthd in the background (default socket /run/berth.sock,
# data root /var/lib/berth) and wait until it answers. Used by the README's
# first command; logs go to /var/log/berthd.log.
set -euo pipefail
BERTHD=${BERTHD:-$(command -v berthd || echo /usr/local/bin/berthd)}
if [ -S /run/berth.sock ] && berth version >/dev/null 2>&1; then
    echo "berthd is already running"
    exit 0
fi
nohup "$BERTHD" "$@" >>/var/log/berthd.log 2>&1 </dev/null &
for _ in $(seq 1 100); do
    if berth version >/dev/null 2>&1; then
        echo "berthd is running: berth run --rm busybox echo hi"
        exit 0
    fi
    sleep 0.1
done
echo "berthd did not start; see /var/log/berthd.log" >&2
exit 1
