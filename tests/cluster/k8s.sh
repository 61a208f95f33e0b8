#!/usr/bin/env bash
# The Kubernetes manifests in deploy/k8s, checked without a cluster (none is
# reachable from these machines): each validated against the schema of one
# Kubernetes version with kubernetes-validate (PyPI, pinned, installed here
# when missing), and checked by tests/cluster/check_k8s.py for what the
# schema cannot see (the shard index from JOB_COMPLETION_INDEX, --shards equal
# to completions, one shared claim). Both are also shown to reject a broken
# copy. Run by .ci/run after `cargo test`; prints `k8s: N passed, N failed`
# and exits 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
validator_version=1.33.1 # kubernetes-validate; holds the schemas of Kubernetes 1.22 to 1.33
kubernetes=1.30.0        # the Kubernetes version the manifests are validated against

passed=0 failed=0
pass() {
    echo "ok: $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAILED: $*"
    failed=$((failed + 1))
}
finish() {
    echo "k8s: $passed passed, $failed failed"
    [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
    exit
}

validate() { python3 -m kubernetes_validate -k "$kubernetes" --strict --quiet "$@"; }

installed=$(python3 -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))' 2>/dev/null)
if [ "$installed" != "$validator_version" ]; then
    echo "k8s: installing kubernetes-validate==$validator_version (found '${installed:-none}')"
    if ! python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "kubernetes-validate==$validator_version"; then
        echo "k8s: ERROR: pip install kubernetes-validate==$validator_version failed" >&2
        fail "kubernetes-validate is not installed, so the manifests were NOT validated"
        finish
    fi
fi
pass "kubernetes-validate $validator_version"

manifests=(deploy/k8s/*.yaml)
for f in "${manifests[@]}"; do
    if validate "$f"; then
        pass "$f is valid for Kubernetes $kubernetes (strict)"
    else
        fail "$f against Kubernetes $kubernetes's schema (above)"
    fi
done
[ "${#manifests[@]}" = 3 ] || fail "expected pvc.yaml, shards-job.yaml and merge-job.yaml, found ${manifests[*]}"

# check_k8s.py prints one line per check; count them.
said=$(python3 tests/cluster/check_k8s.py deploy/k8s)
echo "$said"
passed=$((passed + $(grep -c '^ok: ' <<<"$said")))
failed=$((failed + $(grep -c '^FAILED: ' <<<"$said")))

# Both checks can fail: a copy whose --shards no longer matches completions,
# with a misspelt field.
broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
cp deploy/k8s/*.yaml "$broken/"
sed -i 's/^  completions: \([0-9]*\)$/  completions: 1\1\n  completionz: 1/' "$broken/shards-job.yaml"
if cmp -s deploy/k8s/shards-job.yaml "$broken/shards-job.yaml"; then
    fail "could not break a copy of shards-job.yaml (no '  completions: N' line)"
elif validate "$broken/shards-job.yaml" >/dev/null 2>&1; then
    fail "the schema check accepted a misspelt field (completionz)"
elif python3 tests/cluster/check_k8s.py "$broken" >/dev/null; then
    fail "check_k8s.py accepted --shards different from completions"
else
    pass "a misspelt field and --shards != completions are both rejected"
fi
finish
