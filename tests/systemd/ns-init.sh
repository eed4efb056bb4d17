#!/bin/bash
# PID 1 of a fresh PID + mount namespace for tests under a real systemd:
#   setsid unshare --pid --fork --mount --mount-proc bash ns-init.sh
# The namespace shares / with the host, so before systemd starts:
#  * private tmpfs on /run, /tmp, /var/tmp and /var/log/journal: tmpfiles rules and journald
#    act on these, never on the host's files (test data must live elsewhere; the checkout
#    and build tree named in BUCKETD_NS_KEEP stay visible even when they are under /tmp);
#  * the host's enabled services, timers and tmpfiles/sysusers units are masked, and systemd
#    boots bucketd-test.target, which pulls in nothing;
#  * resource accounting is off (the host's controllers are cgroup v1);
#  * units under test go to /run/systemd/system (this namespace's tmpfs) with
#    DefaultDependencies=no.
set -e
# With BUCKETD_NS_OVERLAY=DIR the namespace gets a copy-on-write view of the
# host's / (changes go to DIR/upper), so a test may install packages and
# create users without touching the host.
if [ -n "${BUCKETD_NS_OVERLAY:-}" ]; then
  o=$BUCKETD_NS_OVERLAY
  unset BUCKETD_NS_OVERLAY
  mount --make-rprivate /
  mkdir -p "$o/upper" "$o/work" "$o/root"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$o/upper,workdir=$o/work" "$o/root"
  mount --rbind /dev "$o/root/dev"
  mount --rbind /sys "$o/root/sys"
  mount -t proc proc "$o/root/proc"
  exec chroot "$o/root" /bin/bash "$0"
fi
mount --make-rprivate /
mount -t tmpfs tmpfs /run
mkdir -p /run/lock /run/systemd/system /run/systemd/system.conf.d
# BUCKETD_NS_KEEP: the directories the tests run from (the checkout and its
# build tree). One under /tmp or /var/tmp (a checkout cloned there) is held
# aside on /run before the private tmpfs hides it, then bound back in place.
keep=()
for p in ${BUCKETD_NS_KEEP:-}; do
  case "$p" in /tmp/*|/var/tmp/*) ;; *) continue ;; esac
  [ -d "$p" ] || continue
  hold=/run/bucketd-keep/${#keep[@]}
  mkdir -p "$hold"
  mount --bind "$p" "$hold"
  keep+=("$p")
done
unset BUCKETD_NS_KEEP
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
for i in "${!keep[@]}"; do
  mkdir -p "${keep[$i]}"
  mount --bind "/run/bucketd-keep/$i" "${keep[$i]}"
done
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
