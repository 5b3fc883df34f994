"""deploy/kubernetes/: valid Kubernetes objects that start a head and workers joining it."""

from __future__ import annotations

import argparse
import pathlib

import pytest

from actorium._cli import start
from actorium._transport.auth import PLACEHOLDER_TOKEN, check_bind_host

yaml = pytest.importorskip("yaml", reason="pyyaml is in the test extras; pip install -e .[test]")
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate (PyPI) could not be installed: it "
                                  "carries the Kubernetes JSON schemas these tests check against")

DEPLOY = pathlib.Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"


def documents() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path.name, document))
    return found


def objects() -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for name, d in documents()
            if name != "kustomization.yaml"}


@pytest.mark.parametrize(("name", "document"), documents(),
                         ids=[f"{n}:{d['kind']}" for n, d in documents()])
def test_every_manifest_is_a_valid_kubernetes_object(name, document):
    if document["kind"] == "Kustomization":
        # Not a Kubernetes API object: check the files it lists instead.
        for resource in document["resources"]:
            assert (DEPLOY / resource).exists(), resource
        return
    # strict: unknown fields (a typo such as "contianers") are errors too.
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_there_is_a_head_deployment_and_service_a_worker_deployment_and_a_token_secret():
    found = objects()
    for key in [("Deployment", "actorium-head"), ("Service", "actorium-head"),
                ("Deployment", "actorium-worker"), ("Secret", "actorium-token")]:
        assert key in found, f"missing {key}"


def test_the_head_service_selects_the_head_pods_on_the_head_port():
    found = objects()
    service = found[("Service", "actorium-head")]
    head = found[("Deployment", "actorium-head")]
    labels = head["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    container = head["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    assert ports["head"] == 6379 and "--port" in container["args"]
    assert container["args"][container["args"].index("--port") + 1] == "6379"


def _start_options(deployment: dict) -> argparse.Namespace:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["actorium"]
    assert container["args"][0] == "start"
    parser = argparse.ArgumentParser()
    start.add_parser(parser.add_subparsers())
    args = [a.replace("$(POD_IP)", "10.0.0.5") for a in container["args"]]
    return parser.parse_args(args)


def test_the_containers_run_actorium_start_with_arguments_it_accepts():
    found = objects()
    head = _start_options(found[("Deployment", "actorium-head")])
    worker = _start_options(found[("Deployment", "actorium-worker")])
    assert head.head and head.block and head.node_ip_address == "10.0.0.5"
    assert worker.address == "actorium-head:6379" and worker.block
    assert worker.node_ip_address == "10.0.0.5"


def test_the_token_comes_from_the_secret_and_nowhere_else():
    found = objects()
    for name in ("actorium-head", "actorium-worker"):
        container = found[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        reference = env["ACTORIUM_CLUSTER_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert reference == {"name": "actorium-token", "key": "token"}
        assert "--token" not in container["args"]
        # Listening on the pod address needs the token: the manifests cannot run without it.
        with pytest.raises(ValueError, match="token"):
            check_bind_host("10.0.0.5", None)
    secret = found[("Secret", "actorium-token")]
    assert secret["stringData"]["token"] == PLACEHOLDER_TOKEN
    with pytest.raises(ValueError, match="placeholder"):
        check_bind_host("10.0.0.5", PLACEHOLDER_TOKEN)


def test_the_pods_run_unprivileged():
    found = objects()
    for name in ("actorium-head", "actorium-worker"):
        pod = found[("Deployment", name)]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        container = pod["containers"][0]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_the_schema_check_catches_a_mistake():
    # Guards the check itself: a misspelt field must fail, or the test above proves nothing.
    broken = objects()[("Deployment", "actorium-head")]
    spec = broken["spec"]["template"]["spec"]
    spec["contianers"] = spec.pop("containers")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
