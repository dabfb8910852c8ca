# What the deploy benchmarks share (sourced first by run.sh and floor.sh): root, the repository as working folder, the
# Docker API version, the node image, `-r REPEATS` taken off the arguments, and the naive baseline (baseline.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
need_root
cd "$LTB_ROOT"
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-$(docker_api_version)}"
image=ltb/tiny:latest
repeats=1
if [[ ${1:-} == -r ]]; then repeats=$2; shift 2; fi
bench_args=("$@")
source "$LTB_ROOT/bench/deploy/baseline.sh"
