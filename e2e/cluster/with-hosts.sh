#!/usr/bin/env bash
# with-hosts.sh <hosts file> <command...>: runs the command in a private mount namespace where
# <hosts file> is bind-mounted over /etc/hosts, so service names such as api-canary.testapi
# resolve to 127.x addresses. The network namespace is the host's, so loopback is shared.
# Append to the hosts file in place (>>), never replace it: the bind mount follows the inode.
set -euo pipefail
hosts=$1; shift
exec unshare --mount --propagation private -- sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts" "$@"
