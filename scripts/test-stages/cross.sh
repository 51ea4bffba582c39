#!/usr/bin/env bash
# Portability matrix: agent-side build + tests under qemu-user + identical decode output.
exec "$(dirname "$0")/../../tools/cross/matrix.sh"
