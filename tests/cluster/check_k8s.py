"""What the Kubernetes manifests in a folder must agree on, beyond the schema.

python3 check_k8s.py DIR: reads DIR/*.yaml (PyYAML, which kubernetes-validate
brings) and checks that the Indexed Job's pods take their shard from
JOB_COMPLETION_INDEX (`pivotsim run ... --shard-from-env --shards N` with N
equal to `completions`), that the merge Job reads the folder the shards are
written to, on the same claim as the one pvc.yaml makes, and that the
scenario lies on a mounted volume. Prints `ok: ...` or `FAILED: ...` for each
check; exits 1 if any failed.
"""

import pathlib
import sys

import yaml

failures = 0


def check(ok, what):
    global failures
    print(("ok: " if ok else "FAILED: ") + what)
    failures += not ok


def after(argv, flag):
    """The value following `flag` in argv, or None."""
    i = argv.index(flag) if flag in argv else -1
    return argv[i + 1] if 0 <= i < len(argv) - 1 else None


def mounted(pod, container, path):
    """The volume of `pod` holding `path` in `container`, or None."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in container.get("volumeMounts", []):
        if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/"):
            return volumes.get(m["name"])
    return None


docs = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
jobs = [d for d in docs if d.get("kind") == "Job"]
claims = [d["metadata"]["name"] for d in docs if d.get("kind") == "PersistentVolumeClaim"]
indexed = [j for j in jobs if j["spec"].get("completionMode") == "Indexed"]
merges = [j for j in jobs if j not in indexed]
check(len(indexed) == 1 and len(merges) == 1 and len(claims) == 1,
      f"one Indexed Job ({len(indexed)}), one merge Job ({len(merges)}), one claim ({len(claims)})")
if failures:
    sys.exit(1)

shards, merge = indexed[0], merges[0]
completions = shards["spec"].get("completions")
check(isinstance(completions, int) and completions >= 1
      and 1 <= shards["spec"].get("parallelism", completions) <= completions,
      f"completions {completions} >= parallelism {shards['spec'].get('parallelism')} >= 1")
pod = shards["spec"]["template"]["spec"]
(runner,) = pod["containers"]
argv = runner.get("command", []) + runner.get("args", [])
check(argv[:2] == ["pivotsim", "run"], f"the shard pods run `pivotsim run` ({' '.join(argv[:2])})")
check("--shard-from-env" in argv and "--shard" not in argv,
      "the shard pods take their index from JOB_COMPLETION_INDEX (--shard-from-env, no --shard)")
check(not any(e["name"] == "JOB_COMPLETION_INDEX" for e in runner.get("env", [])),
      "JOB_COMPLETION_INDEX is left to Kubernetes")
check(after(argv, "--shards") == str(completions),
      f"--shards {after(argv, '--shards')} equals completions {completions}")
out = after(argv, "--out") or ""
out_volume = mounted(pod, runner, out)
claim = (out_volume or {}).get("persistentVolumeClaim", {}).get("claimName")
check(claim in claims, f"the shards go to {out!r} on claim {claim!r}, the one pvc.yaml makes {claims}")
check(len(argv) > 2 and mounted(pod, runner, argv[2]) is not None,
      f"the scenario {argv[2] if len(argv) > 2 else None!r} is on a mounted volume")

merge_pod = merge["spec"]["template"]["spec"]
(merger,) = merge_pod["containers"]
margv = merger.get("command", []) + merger.get("args", [])
check(margv[:3] == ["pivotsim", "merge", out], f"the merge Job runs `pivotsim merge {out}` ({' '.join(margv[:3])})")
merge_volume = mounted(merge_pod, merger, margv[2] if len(margv) > 2 else "")
merge_claim = (merge_volume or {}).get("persistentVolumeClaim", {}).get("claimName")
merge_out = mounted(merge_pod, merger, after(margv, "--out") or "")
check(merge_claim == claim and merge_out is not None,
      f"the merge Job reads claim {merge_claim!r} and writes --out on a volume")
check(runner["image"] == merger["image"], "both Jobs run the same image")
sys.exit(1 if failures else 0)
