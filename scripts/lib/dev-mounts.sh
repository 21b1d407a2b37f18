# Sourced by scripts/dev inside a private mount namespace: bind what a run needs into the rootfs.
# Every mount made here disappears with the namespace, so an interrupted run leaves none behind.
mount_env() {
  local rootfs=$1 venv=$2 repo=$3
  mount -t proc proc "$rootfs/proc"
  mount --rbind /dev "$rootfs/dev"
  mount --rbind /sys "$rootfs/sys" 2>/dev/null || true
  mount -t tmpfs -o size=16g,mode=1777 tmpfs "$rootfs/tmp"
  mount --bind "$repo" "$rootfs/src"
  mount --bind "$venv" "$rootfs/opt/shems-venv"
  mount --bind /etc/resolv.conf "$rootfs/etc/resolv.conf"
  if [ -d "$repo/../shared" ]; then
    mkdir -p "$rootfs/shared"
    mount --bind "$(cd "$repo/../shared" && pwd)" "$rootfs/shared"
  fi
}
