# Sourced by the scripts in tools/: installs missing Debian packages when
# run as root, or prints the exact apt-get line and stops when not.
#   qgemm_require_packages pkg [pkg...]
#   qgemm_require_arch arm64      (dpkg --add-architecture, root only)

qgemm_missing_packages() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  echo "${missing[@]}"
}

qgemm_apt_updated=
qgemm_require_packages() {
  local missing
  missing=$(qgemm_missing_packages "$@")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "qgemm: missing Debian packages. Run as root, or first:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y $missing" >&2
    exit 1
  fi
  echo "qgemm: installing $missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$qgemm_apt_updated" ]; then
    apt-get update -q >&2 || echo "qgemm: apt-get update reported errors; trying the install anyway" >&2
    qgemm_apt_updated=1
  fi
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >&2
}

qgemm_require_arch() {
  local arch=$1
  dpkg --print-foreign-architectures | grep -qx "$arch" && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "qgemm: needs the $arch dpkg architecture. Run as root, or first:" >&2
    echo "  sudo dpkg --add-architecture $arch && sudo apt-get update" >&2
    exit 1
  fi
  dpkg --add-architecture "$arch"
  qgemm_apt_updated=
}

# What building the library, its tools, tests and benchmark needs.
QGEMM_BUILD_PACKAGES="cmake ninja-build g++ pkg-config python3 libcpu-features-dev
  googletest libgtest-dev libbenchmark-dev libxsimd-dev libsimde-dev
  libgemmlowp-dev"
# Peers the benchmark compares against (optional at build time).
QGEMM_PEER_PACKAGES="libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libdnnl-dev libopenblas-dev"
