#!/usr/bin/env bash
# Publishes `ltb` self-contained for linux-x64 into one folder (the .NET runtime, ASP.NET Core and the API reference's
# web assets inside): it runs on a machine without the .NET SDK or runtime. `ltb --version` reports the version and the
# commit it was built from (git's HEAD here, or LTB_COMMIT where there is no .git, e.g. in a container build).
# Usage: scripts/publish.sh [OUTPUT_DIR]   (default .artifacts/publish/ltb-linux-x64)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$LTB_ROOT"
out="${1:-$LTB_ROOT/.artifacts/publish/ltb-linux-x64}"
commit="${LTB_COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}"
[[ -n $commit ]] || die "no commit to embed: run inside the git checkout or set LTB_COMMIT"
[[ $commit =~ ^[0-9a-f]{7,40}$ ]] || die "LTB_COMMIT '$commit' is not a git commit id (7 to 40 hex digits)"
log "publishing ltb (linux-x64, self-contained, commit ${commit:0:12}) to $out"
# One publish at a time (test classes publish side by side). Its build has a folder of its own (publish-build), so
# it never meets a developer's or the test suite's build in .artifacts/bin and obj.
mkdir -p "$LTB_ROOT/.artifacts"
exec 9>"$LTB_ROOT/.artifacts/publish.lock"
flock 9
rm -rf "$out"
dotnet publish src/Ltb.Cli/Ltb.Cli.csproj -c Release -r linux-x64 --self-contained true --nologo -v q -clp:NoSummary \
  -p:SourceRevisionId="$commit" -p:DebugType=none -p:ArtifactsPath="$LTB_ROOT/.artifacts/publish-build" -o "$out" >"$LTB_LOG_DIR/publish.log" 2>&1 \
  || { grep -E 'error' "$LTB_LOG_DIR/publish.log" | sort -u | head -40 >&2; die "dotnet publish failed (log: $LTB_LOG_DIR/publish.log)"; }
"$out/ltb" --version
