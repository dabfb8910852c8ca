#!/usr/bin/env bash
# Makes the upgrade fixture (tests/Ltb.Server.Tests/Fixtures/upgrade/): what the release COMMIT leaves on disk, made by
# that release itself. It checks COMMIT out beside the repository (git worktree), builds its `ltb`, and for each database
# (SQLite, then PostgreSQL) starts its `ltb serve`, signs in as admin, creates the user `student1`, pushes the template
# `upgrade-demo` (a node with a bind of an uploaded file) and deploys it as student1 (the lab `old-lab`), then stops the
# server and keeps:
#   sqlite.tar.gz     the data folder, ltb.db included
#   postgres.tar.gz   the data folder and database.sql (pg_dump, plain SQL, no owners)
#   release.txt       the commit and what the fixture holds (the test reads the names and passwords from it)
# The lab's containers are removed from this host afterwards (`ltb host prune` of the current build, limited to it).
# Run it at each release with the commit of the release before (docs/operations.md, "Upgrade"); it needs Docker, the
# ltb/tiny image (scripts/build-images.sh tiny) and the test PostgreSQL (scripts/lib.sh start_postgres).
# Usage: scripts/make-upgrade-fixture.sh COMMIT
set -euo pipefail
source "$(dirname "$0")/lib.sh"
commit=${1:?usage: scripts/make-upgrade-fixture.sh COMMIT (the release before this one)}
out="$LTB_ROOT/tests/Ltb.Server.Tests/Fixtures/upgrade"
pg_server=${LTB_TEST_POSTGRES:-Host=127.0.0.1;Port=5432;Username=ltb_test;Password=ltb_test;Database=ltb_test}
admin_password='Upgrade-Admin-Passw0rd-1'
student_password='Upgrade-Student-Passw0rd-1'
work=$(mktemp -d /tmp/ltb-upgrade-fixture.XXXXXX)
pgdb="ltb_upgrade_$(date +%s)"
server_pid=

cleanup() {
  [[ -z $server_pid ]] || kill "$server_pid" 2>/dev/null || true
  PGPASSWORD=ltb_test psql -h 127.0.0.1 -U ltb_test -d ltb_test -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
  [[ -n ${LTB_PREVIOUS_CHECKOUT:-} ]] || git -C "$LTB_ROOT" worktree remove --force "$work/src" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

full_commit=$(git -C "$LTB_ROOT" rev-parse "$commit")
# LTB_PREVIOUS_CHECKOUT: a checkout of COMMIT already built (dotnet build src/Ltb.Cli -c Release) to use instead.
checkout=${LTB_PREVIOUS_CHECKOUT:-$work/src}
if [[ -n ${LTB_PREVIOUS_CHECKOUT:-} ]]; then
  [[ $(git -C "$checkout" rev-parse HEAD) == "$full_commit" ]] || die "LTB_PREVIOUS_CHECKOUT $checkout is not at $commit"
else
  log "building the release $commit"
  git -C "$LTB_ROOT" worktree add --detach "$checkout" "$commit" >/dev/null
  (cd "$checkout" && dotnet build src/Ltb.Cli/Ltb.Cli.csproj -c Release -v q -clp:NoSummary >"$work/build.log" 2>&1) \
    || { tail -20 "$work/build.log" >&2; die "the release $commit did not build"; }
fi
old=("dotnet" "$checkout/.artifacts/bin/Ltb.Cli/release/ltb.dll")

cat >"$work/upgrade-demo.clab.yml" <<'EOF'
name: upgrade-demo
topology:
  nodes:
    a: {kind: linux, image: "ltb/tiny:latest", binds: ["files/motd:/etc/motd-lab"]}
EOF
mkdir -p "$work/files" && echo "made by the previous release" >"$work/files/motd"

# make_one PROVIDER: a data folder (and database) of the old release with the admin, student1, the template and old-lab.
make_one() {
  local provider=$1 data="$work/data-$1" port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local url="http://127.0.0.1:$port"
  local args=(serve --data "$data" --listen "$url" --ssh-port off)
  if [[ $provider == postgres ]]; then
    PGPASSWORD=ltb_test psql -h 127.0.0.1 -U ltb_test -d ltb_test -qc "CREATE DATABASE $pgdb" >/dev/null
    args+=(--database postgres --connection-string "${pg_server/Database=ltb_test/Database=$pgdb}")
  fi
  log "$provider: the release's server on $url"
  LTB_ADMIN_PASSWORD=$admin_password "${old[@]}" "${args[@]}" >"$work/serve-$provider.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 120); do curl -sf "$url/healthz" >/dev/null && break; sleep 1; done
  curl -sf "$url/healthz" >/dev/null || { tail -20 "$work/serve-$provider.log" >&2; die "the release's server did not start"; }
  export XDG_CONFIG_HOME="$work/cli-$provider-admin"
  echo "$admin_password" | "${old[@]}" login --server "$url" --user admin --password-stdin
  local token
  token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$XDG_CONFIG_HOME/ltb/credentials.json")
  curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"userName\":\"student1\",\"password\":\"$student_password\"}" "$url/api/v1/users" >/dev/null
  (cd "$work" && "${old[@]}" template push upgrade-demo.clab.yml --visibility everyone)
  export XDG_CONFIG_HOME="$work/cli-$provider-student"
  echo "$student_password" | "${old[@]}" login --server "$url" --user student1 --password-stdin
  "${old[@]}" lab deploy --template upgrade-demo --name old-lab
  runtime=$(curl -sf -H "Authorization: Bearer $token" "$url/api/v1/labs?all=true" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); items=d["items"] if isinstance(d,dict) else d; print([l for l in items if l["name"]=="old-lab"][0]["runtimeName"])')
  unset XDG_CONFIG_HOME
  kill "$server_pid"; wait "$server_pid" || true; server_pid=
  if [[ $provider == postgres ]]; then
    PGPASSWORD=ltb_test pg_dump -h 127.0.0.1 -U ltb_test --no-owner --no-privileges "$pgdb" >"$work/postgres.sql"
  fi
  # The lab's containers, namespaces and interfaces on this host: gone (the fixture keeps what the release left on disk).
  "$LTB_ROOT/ltb" host prune --data "$work/empty-$provider" --lab-prefix "$runtime" >/dev/null
}

make_one sqlite
make_one postgres
mkdir -p "$out"
tar -C "$work/data-sqlite" -czf "$out/sqlite.tar.gz" .
mkdir -p "$work/pg" && cp -a "$work/data-postgres" "$work/pg/data" && cp "$work/postgres.sql" "$work/pg/database.sql"
tar -C "$work/pg" -czf "$out/postgres.tar.gz" .
cat >"$out/release.txt" <<EOF
commit=$full_commit
admin=admin
admin_password=$admin_password
user=student1
user_password=$student_password
template=upgrade-demo
lab=old-lab
motd=made by the previous release
EOF
log "fixture of $commit written to $out"
