# Shared by the stub commands: print fixture KEY for the host this SSH session reached.
# HOST_DIR is set by session.sh from the server address of the connection.
emit() {
    f="$HOST_DIR/out/$1"
    if [ ! -f "$f" ]; then
        echo "test stub: no fixture '$1' for this host ($HOST_DIR)" >&2
        exit 3
    fi
    grep -v '^#@' "$f"
    rc=0
    [ -f "$f.rc" ] && rc=$(cat "$f.rc")
    exit "$rc"
}
