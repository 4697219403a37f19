#!/bin/sh
# ForceCommand of the test sshd. Every loopback address stands for one BeeGFS host: its
# directory holds the stub commands it has (bin/), their recorded-format output (out/) and,
# for client nodes, the content its /proc/mounts must show (proc_mounts). The real command the
# cockpit sent then runs in that setting.
set -- $SSH_CONNECTION
HOST_DIR="$STUB_ROOT/hosts/$3"
export HOST_DIR
PATH="$HOST_DIR/bin:/usr/local/bin:/usr/bin:/bin"
export PATH
cmd=${SSH_ORIGINAL_COMMAND:-true}
if [ -f "$HOST_DIR/proc_mounts" ]; then
    # A private mount namespace whose /proc holds only the node's mounts table.
    exec unshare --mount --propagation private sh -c \
        'mount -t tmpfs cockpit-test-proc /proc && grep -v "^#@" "$HOST_DIR/proc_mounts" > /proc/mounts && exec sh -c "$1"' \
        sh "$cmd"
fi
exec sh -c "$cmd"
