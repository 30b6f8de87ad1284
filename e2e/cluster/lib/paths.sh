# Shared locations of the e2e stack (sourced).
CACHE_ROOT="${CDK8S_CANARY_CACHE:-$HOME/.cache/cdk8s-canary}"
STATE_POINTER="${TMPDIR:-/tmp}/cdk8s-canary-e2e/current"
bin_dir() { echo "$CACHE_ROOT/bin/$1-$2"; }
