#!/bin/sh
# Patchbay's entrypoint in the image. Started as root (docker-compose.yml does, with the host's
# /sys/fs/cgroup mounted read-write), it hands the container's own cgroup to the patchbay user the
# way systemd's Delegate=yes does: the directory and its cgroup.procs, cgroup.subtree_control and
# cgroup.threads. The worker can then put each task in a cgroup of its own below it, and nothing
# else of the host's cgroups is Patchbay's to write. Then it runs Patchbay as patchbay. Started as
# patchbay (the image's default user), it only runs Patchbay: tasks get rlimits and watchdogs
# instead of cgroups, as start-up says (docs/limits.md).
set -eu

if [ "$(id -u)" != 0 ]; then
  exec "$@"
fi

own=$(sed -n 's/^0:://p' /proc/self/cgroup)
dir="/sys/fs/cgroup${own}"
if [ -n "$own" ] && [ -w "$dir/cgroup.procs" ]; then
  chown patchbay:patchbay "$dir" "$dir/cgroup.procs" "$dir/cgroup.subtree_control" "$dir/cgroup.threads"
else
  echo "patchbay-entrypoint: no writable cgroup v2 directory for this container ($dir); tasks run without cgroups" >&2
fi
exec setpriv --reuid=patchbay --regid=patchbay --init-groups --inh-caps=-all -- "$@"
