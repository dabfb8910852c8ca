# Shared helpers for LTB's shell scripts (sourced, not run).
# Everything here is idempotent: it checks before it installs or starts anything.

LTB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LTB_STATE_DIR="${LTB_STATE_DIR:-/var/lib/ltb-host}"
LTB_LOG_DIR="${LTB_LOG_DIR:-/var/log/ltb}"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need_root() {
  [[ $(id -u) -eq 0 ]] || die "host preparation needs root (apt-get, dockerd, network namespaces); run it with sudo"
}

# apt_install PKG...: installs the packages that are not installed yet, and nothing else.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq "${missing[@]}" >"$LTB_LOG_DIR/apt.log" 2>&1 \
    || { tail -20 "$LTB_LOG_DIR/apt.log" >&2; die "apt-get install ${missing[*]} failed (log: $LTB_LOG_DIR/apt.log)"; }
}

# The OpenAPI linter the API tests run on the served document (tests/Ltb.Server.Tests/Api/OpenApiContractTests.cs),
# pinned, installed from npm into $LTB_STATE_DIR/tools (kept between runs: a second call installs nothing). The tests
# find it at $LTB_STATE_DIR/tools/redocly.
LTB_OPENAPI_LINTER_VERSION=2.77.0
install_openapi_linter() {
  local tools="$LTB_STATE_DIR/tools" dir="$LTB_STATE_DIR/tools/redocly-cli-$LTB_OPENAPI_LINTER_VERSION"
  if [[ ! -x $dir/node_modules/.bin/redocly ]]; then
    command -v npm >/dev/null || apt_install nodejs npm
    log "installing the OpenAPI linter (@redocly/cli $LTB_OPENAPI_LINTER_VERSION)"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@redocly/cli@$LTB_OPENAPI_LINTER_VERSION" \
      >"$LTB_LOG_DIR/npm.log" 2>&1 || { tail -20 "$LTB_LOG_DIR/npm.log" >&2; die "npm install @redocly/cli failed"; }
  fi
  ln -sfn "$dir/node_modules/.bin/redocly" "$tools/redocly"
}

docker_ping() { curl -sf --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; }

# The docker CLI on these machines may be newer than the engine; speak the engine's API version.
docker_api_version() {
  curl -sf --max-time 5 --unix-socket /var/run/docker.sock http://localhost/version \
    | sed -n 's/.*"ApiVersion":"\([0-9.]*\)".*/\1/p'
}

# start_dockerd: starts the Docker engine unless one already answers (never touches a running one).
start_dockerd() {
  if ! docker_ping; then
    command -v dockerd >/dev/null || die "dockerd is not installed"
    log "starting dockerd"
    # Its own session: the engine must outlive the shell (or job) that started it, also when that one's process group
    # is killed. The log is appended to, so that the reason of an earlier end stays readable.
    # User-namespace remapping (docs/security.md): root in a node is an unprivileged uid on the host, so even a
    # capability that slipped through cannot touch the host's cgroups, modules or files. LTB_DOCKER_USERNS=off opts out
    # (the host then says so in `ltb host info` and on every lab it runs).
    local userns=(--userns-remap=default)
    [[ ${LTB_DOCKER_USERNS:-on} == off ]] && userns=()
    # Remapped, every container's root is the same host uid (100000), and each container takes a session key of that
    # user's keyring: the kernel's default quota (200 keys, 20000 bytes per user) refuses the ~200th container ("unable
    # to create session key: disk quota exceeded"). A 250-node lab needs more: raise the per-user quota.
    if [[ ${#userns[@]} -gt 0 ]]; then
        (( $(sysctl -n kernel.keys.maxkeys) >= 20000 )) || sysctl -qw kernel.keys.maxkeys=20000 kernel.keys.maxbytes=2000000
    fi
    setsid -f dockerd "${userns[@]}" >>"$LTB_LOG_DIR/dockerd.log" 2>&1 </dev/null
    local i
    for i in $(seq 1 60); do docker_ping && break; sleep 0.5; done
    docker_ping || { tail -20 "$LTB_LOG_DIR/dockerd.log" >&2; die "dockerd did not start (log: $LTB_LOG_DIR/dockerd.log)"; }
  fi
  DOCKER_API_VERSION="$(docker_api_version)"
  export DOCKER_API_VERSION
}

# start_ovs: starts ovsdb-server and ovs-vswitchd by hand, each only when it does not answer (no kernel module here:
# bridges use datapath_type=netdev). The Debian package's own init may have started ovsdb-server alone.
start_ovs() {
  mkdir -p /var/run/openvswitch /etc/openvswitch
  local i
  if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1 && pgrep -x ovsdb-server >/dev/null; then
    # One is running (perhaps started by the package) but does not answer yet: give it a moment, then replace it.
    for i in $(seq 1 10); do ovs-vsctl --timeout=1 show >/dev/null 2>&1 && break; sleep 0.5; done
    if ! ovs-vsctl --timeout=1 show >/dev/null 2>&1; then
      pkill -x ovsdb-server || true
      for i in $(seq 1 20); do pgrep -x ovsdb-server >/dev/null || break; sleep 0.25; done
    fi
  fi
  if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
    log "starting ovsdb-server"
    [[ -f /etc/openvswitch/conf.db ]] || ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema
    rm -f /var/run/openvswitch/ovsdb-server.pid
    ovsdb-server /etc/openvswitch/conf.db --remote=punix:/var/run/openvswitch/db.sock \
      --remote=db:Open_vSwitch,Open_vSwitch,manager_options --pidfile --detach --log-file="$LTB_LOG_DIR/ovsdb-server.log" \
      || die "ovsdb-server did not start (log: $LTB_LOG_DIR/ovsdb-server.log)"
  fi
  ovs-vsctl --timeout=10 --no-wait init || die "the Open vSwitch database does not answer (log: $LTB_LOG_DIR/ovsdb-server.log)"
  if ! ovs-appctl --timeout=2 -t ovs-vswitchd version >/dev/null 2>&1; then
    log "starting ovs-vswitchd"
    rm -f /var/run/openvswitch/ovs-vswitchd.pid
    ovs-vswitchd --pidfile --detach --log-file="$LTB_LOG_DIR/ovs-vswitchd.log" \
      || die "ovs-vswitchd did not start (log: $LTB_LOG_DIR/ovs-vswitchd.log)"
  fi
  ovs-appctl --timeout=10 -t ovs-vswitchd version >/dev/null || die "ovs-vswitchd does not answer (log: $LTB_LOG_DIR/ovs-vswitchd.log)"
}

# start_postgres: starts Debian's PostgreSQL cluster on loopback unless it already answers (never restarts a
# running one), and creates the `ltb_test` role (allowed to create the per-test databases) and database idempotently.
# The test suite reaches it with LTB_TEST_POSTGRES (default: Host=127.0.0.1;Username=ltb_test;Password=ltb_test).
start_postgres() {
  command -v pg_lsclusters >/dev/null || die "PostgreSQL is not installed (scripts/prepare-host.sh test installs it)"
  local version cluster
  read -r version cluster _ < <(pg_lsclusters --no-header | head -1)
  if [[ -z ${version:-} ]]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    cluster=main
    log "creating PostgreSQL cluster $version/$cluster"
    pg_createcluster "$version" "$cluster" >/dev/null
  fi
  # The suite runs several PostgreSQL-backed servers at once (each a pool, a change listener and an event relay):
  # Debian's default of 100 connections ran out in CI ("53300: remaining connection slots are reserved").
  pg_conftool "$version" "$cluster" set max_connections 300
  local psql=(runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt)
  if pg_isready -q -h 127.0.0.1 && [[ $("${psql[@]}" -c "SHOW max_connections") -lt 300 ]]; then
    if [[ $("${psql[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'ltb_test'") == 0 ]]; then
      log "restarting PostgreSQL $version/$cluster for max_connections 300 (no test is connected)"
      pg_ctlcluster "$version" "$cluster" restart || die "PostgreSQL did not restart (log: /var/log/postgresql/postgresql-$version-$cluster.log)"
    else
      log "PostgreSQL keeps max_connections $("${psql[@]}" -c "SHOW max_connections") until it restarts (tests are connected)"
    fi
  fi
  if ! pg_isready -q -h 127.0.0.1 -p "$(pg_conftool -s "$version" "$cluster" show port 2>/dev/null || echo 5432)"; then
    log "starting PostgreSQL $version/$cluster"
    pg_ctlcluster "$version" "$cluster" start || die "PostgreSQL did not start (log: /var/log/postgresql/postgresql-$version-$cluster.log)"
  fi
  local i
  for i in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
  pg_isready -q -h 127.0.0.1 || die "PostgreSQL does not answer on 127.0.0.1"
  if [[ $("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'ltb_test'") != 1 ]]; then
    "${psql[@]}" -c "CREATE ROLE ltb_test LOGIN CREATEDB PASSWORD 'ltb_test'" >/dev/null
  fi
  if [[ $("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'ltb_test'") != 1 ]]; then
    "${psql[@]}" -c "CREATE DATABASE ltb_test OWNER ltb_test" >/dev/null
  fi
}

# debian_mirror: the Debian archive this machine's apt uses (debootstrap needs one).
debian_mirror() {
  local uri
  uri=$(grep -hoE '^URIs:[[:space:]]*\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [[ -n $uri ]] || uri=$(grep -hoE '^deb[[:space:]]+\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [[ -n $uri ]] || die "no Debian mirror found in the apt sources"
  printf '%s\n' "$uri"
}

mkdir -p "$LTB_LOG_DIR" 2>/dev/null || true
