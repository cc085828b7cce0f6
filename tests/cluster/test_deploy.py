"""deploy/: the compose file against the Compose Specification schema, the Kubernetes
manifests against the Kubernetes API schemas, and both against the workers' own settings
(queues, time limits). Docker itself has no engine here, so nothing is built or started."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workers.config import QUEUES, parse_time_limits

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent


def _k8s_docs() -> list[dict]:
    return [d for f in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]


def test_compose_file_matches_the_compose_spec():
    if not (BIN / "check-jsonschema").exists():
        pytest.skip("check-jsonschema not installed (pip install check-jsonschema)")
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                           str(DEPLOY / "compose.yaml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_redis_is_durable_and_workers_cover_the_queues():
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    redis_cmd = services["redis"]["command"]
    assert redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert redis_cmd[redis_cmd.index("--maxmemory-policy") + 1] == "noeviction"
    for name in ("cpu-worker", "gpu-worker", "beat", "api"):
        dockerfile = services[name].get("build", {}).get("dockerfile") or "deploy/docker/cpu-worker.Dockerfile"
        assert (REPO / dockerfile).is_file(), dockerfile
    gpu_image = (DEPLOY / "docker/gpu-worker.Dockerfile").read_text()
    assert '"-Q", "gpu", "--pool", "solo"' in gpu_image  # no fork after CUDA init
    assert "-Q cpu" in (DEPLOY / "docker/cpu-worker.Dockerfile").read_text()


def test_kubernetes_manifests_match_the_api_schemas():
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    checked = 0
    for doc in _k8s_docs():
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: checked against our own Deployments below
        kubernetes_validate.validate(doc, "1.30.0", strict=True)
        checked += 1
    assert checked >= 8


def test_autoscaling_targets_each_queue_and_grace_outlasts_the_hard_limit():
    docs = _k8s_docs()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    scalers = [d for d in docs if d["kind"] == "ScaledObject"]
    queues = set()
    for s in scalers:
        target = deployments[s["spec"]["scaleTargetRef"]["name"]]
        [trigger] = s["spec"]["triggers"]
        assert trigger["type"] == "redis"
        queue = trigger["metadata"]["listName"]
        assert f'"-Q", "{queue}"' in str(target["spec"]["template"]["spec"]["containers"][0]["args"]).replace("'", '"')
        queues.add(queue)
    assert queues == set(QUEUES)
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    longest = max(t.hard for t in parse_time_limits(config["DOCPROC_TIME_LIMITS"]).values())
    grace = deployments["cpu-worker"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > longest
