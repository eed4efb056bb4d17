#!/bin/bash
# PID 1 of a fresh PID + mount namespace for tests under a real systemd:
#   setsid unshare --pid --fork --mount --mount-proc bash ns-init.sh
# The namespace shares / with the host, so before systemd starts:
#  * private tmpfs on /run, /tmp, /var/tmp and /var/log/journal: tmpfiles rules and journald
#    act on these, never on the host's files (test data must live elsewhere);
#  * the host's enabled services, timers and tmpfiles/sysusers units are masked, and systemd
#    boots bucketd-test.target, which pulls in nothing;
#  * resource accounting is off (the host's controllers are cgroup v1);
#  * units under test go to /run/systemd/system (this namespace's tmpfs) with
#    DefaultDependencies=no.
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /run
mkdir -p /run/lock /run/systemd/system /run/systemd/system.conf.d
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
mkdir -p /var/log/journal
mount -t tmpfs tmpfs /var/log/journal
mask() { ln -sf /dev/null "/run/systemd/system/$1"; }
for dir in /etc/systemd/system/*.wants /etc/systemd/system/*.requires; do
  [ -d "$dir" ] || continue
  for unit in "$dir"/*; do
    [ -e "$unit" ] || [ -L "$unit" ] || continue
    name=$(basename "$unit")
    case "$name" in *@*) ;; *) mask "$name" ;; esac
  done
done
for name in systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service \
            systemd-tmpfiles-clean.timer systemd-sysusers.service systemd-udevd.service \
            systemd-udev-trigger.service systemd-udev-settle.service systemd-pstore.service \
            systemd-timesyncd.service systemd-networkd.service systemd-resolved.service \
            getty@tty1.service; do
  mask "$name"
done
cat > /run/systemd/system.conf.d/bucketd-test.conf <<'C'
[Manager]
DefaultCPUAccounting=no
DefaultIOAccounting=no
DefaultBlockIOAccounting=no
DefaultMemoryAccounting=no
DefaultTasksAccounting=no
DefaultIPAccounting=no
C
cat > /run/systemd/system/bucketd-test.target <<'T'
[Unit]
Description=bucketd tests under a real systemd
DefaultDependencies=no
AllowIsolate=yes
T
export container=other
exec /lib/systemd/systemd --system --unit=bucketd-test.target --log-target=journal --log-level=notice
