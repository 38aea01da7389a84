"""The deployment files (deploy/docker/Dockerfile, .dockerignore, deploy/compose.yaml,
deploy/k8s/*.yaml) checked by parsing them: no Docker engine or cluster is needed, so these are
what stands between a typo and a stack that does not start.

What is checked is what the services and the contracts rely on: the topics are exactly those of
`schemas.topics`, every service is built from the one image, migrations and topics exist before
a service starts, the environment variable names are the ones the settings classes read, and in
Kubernetes every pod is probed, bounded and runs without privileges.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from schemas.topics import ALL_TOPICS, DEFAULT_PARTITIONS
from services.common.settings import BaseServiceSettings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
POSTGRES_INIT = DEPLOY / "docker" / "postgres-init.sql"
K8S = DEPLOY / "k8s"

PORTS = {"referrals": 8001, "consent": 8002, "timeline": 8003, "notifications": 8004}
SERVICES = list(PORTS)
TOPIC_NAMES = {t.name for t in ALL_TOPICS}
UID = 10001


# ------------------------------------------------------------------------------- loading


@functools.cache
def _load_all(path: Path) -> list[dict[str, Any]]:
    """Every document of a YAML file, parsed once per run (the tests only read them)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.load_all(f, Loader=loader) if doc is not None]


def _compose() -> dict[str, Any]:
    (doc,) = _load_all(COMPOSE)
    return doc


def _compose_services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _k8s_docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs.extend(_load_all(path))
    return docs


def _k8s(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        d for d in _k8s_docs()
        if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)
    ]


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = _k8s(kind, name)
    assert len(found) == 1, f"expected exactly one {kind} {name or ''}, found {len(found)}"
    return found[0]


def _pod_spec(service: str) -> dict[str, Any]:
    return _one("Deployment", service)["spec"]["template"]["spec"]


def _main_container(service: str) -> dict[str, Any]:
    containers = _pod_spec(service)["containers"]
    (container,) = [c for c in containers if c["name"] == service]
    return container


def _all_containers(service: str) -> list[dict[str, Any]]:
    spec = _pod_spec(service)
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def _config_maps_of(container: dict[str, Any]) -> dict[str, str]:
    """Every key the container gets from ConfigMaps through envFrom."""
    data: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data.update(_one("ConfigMap", source["configMapRef"]["name"]).get("data", {}))
    return data


def _secret_refs(container: dict[str, Any]) -> list[str]:
    return [s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s]


# ------------------------------------------------------------------------------- Dockerfile


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    assert not current, "the Dockerfile ends inside a line continuation"
    result = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        result.append((instruction.upper(), args.strip()))
    return result


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM")
    return instructions[last_from:]


def _final_args(instruction: str) -> list[str]:
    return [args for ins, args in _final_stage() if ins == instruction]


def test_the_image_runs_as_the_non_root_user_10001() -> None:
    users = [args for ins, args in _final_stage() if ins == "USER"]
    assert users, "the final stage sets no USER, so the services would run as root"
    user, _, group = users[-1].partition(":")
    assert user not in {"root", "0", ""}
    assert user == str(UID), "a numeric uid lets Kubernetes' runAsNonRoot verify it"
    assert group not in {"root", "0"}


def test_every_stage_of_the_image_is_python_3_11_slim() -> None:
    bases = [args.split()[0] for ins, args in _dockerfile_instructions() if ins == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases), bases


def test_the_image_installs_the_locked_dependencies_then_tac_without_dependencies() -> None:
    runs = [args for ins, args in _dockerfile_instructions() if ins == "RUN"]
    assert any(re.search(r"\bpip install\b.*-r \S*requirements\.lock\b", r) for r in runs), runs
    assert any(re.search(r"\bpip install --no-deps \.(\s|$)", r) for r in _final_args("RUN")), runs


def test_the_image_contains_schemas_services_and_pyproject() -> None:
    copied = {Path(args.split()[-2]).as_posix().rstrip("/") for args in _final_args("COPY") if "--from" not in args}
    assert {"schemas", "services", "pyproject.toml"} <= copied, copied
    for source in ("schemas", "services", "pyproject.toml", "requirements.lock"):
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which is missing"


def test_the_image_exposes_the_four_service_ports() -> None:
    exposed = {int(p.split("/")[0]) for args in _final_args("EXPOSE") for p in args.split()}
    assert exposed == set(PORTS.values())


def test_the_default_command_is_exec_form_so_compose_and_kubernetes_can_replace_it() -> None:
    (cmd,) = _final_args("CMD")
    command = json.loads(cmd)
    assert command[:2] == ["python", "-m"] and command[2].startswith("services.")
    assert not _final_args("ENTRYPOINT"), "an ENTRYPOINT would prefix every overriding command"


def test_the_build_context_leaves_out_local_state_and_history() -> None:
    patterns = {
        line.strip().rstrip("/").removeprefix("**/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".local", ".git", "__pycache__", "bench/results"} <= patterns, patterns
    copied = {"schemas", "services", "pyproject.toml", "requirements.lock"}
    assert not patterns & copied, "the build context must keep what the Dockerfile copies"


# ------------------------------------------------------------------------------- compose


def test_compose_runs_kafka_postgres_and_the_four_services() -> None:
    assert {"kafka", "postgres", *SERVICES} <= set(_compose_services())


def test_compose_kafka_is_one_kraft_node_of_apache_kafka_3_9_that_never_auto_creates_topics() -> None:
    kafka = _compose_services()["kafka"]
    env = _env(kafka)
    assert kafka["image"].startswith("apache/kafka:3.9.")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    factors = {k: v for k, v in env.items() if k.endswith(("REPLICATION_FACTOR", "MIN_ISR", "MIN_INSYNC_REPLICAS"))}
    assert factors and set(factors.values()) == {"1"}, factors
    assert "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR" in factors, "the default of 3 cannot be met by one broker"
    advertised = env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "PLAINTEXT://kafka:9092" in advertised, "the services bootstrap from kafka:9092"
    assert "healthcheck" in kafka


@pytest.mark.parametrize("name", ["kafka-topics", *SERVICES, *(f"{s}-migrate" for s in SERVICES)])
def test_every_tac_container_in_compose_is_built_from_the_one_dockerfile(name: str) -> None:
    service = _compose_services()[name]
    build = service["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == REPO, "the build context is the repository root"
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    assert service["image"] == _compose_services()["referrals"]["image"], "one image for all"


@pytest.mark.parametrize("service", SERVICES)
def test_each_compose_service_starts_after_its_migrations_and_the_topics(service: str) -> None:
    depends = _compose_services()[service]["depends_on"]
    assert depends[f"{service}-migrate"]["condition"] == "service_completed_successfully"
    assert depends["kafka-topics"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", SERVICES)
def test_each_migration_one_shot_runs_migrate_on_the_services_own_database(service: str) -> None:
    migrate = _compose_services()[f"{service}-migrate"]
    assert _command(migrate) == ["python", "-m", f"services.{service}", "migrate"]
    assert _env(migrate)[f"TAC_{service.upper()}_DATABASE_URL"] == _database_url(service)
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart") == "no"


def _database_url(service: str) -> str:
    return f"postgresql+psycopg://tac:tac@postgres:5432/{service}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_compose_service_runs_its_module_on_its_port_as_a_development_stack(service: str) -> None:
    svc = _compose_services()[service]
    env = _env(svc)
    prefix = f"TAC_{service.upper()}_"
    assert _command(svc) == ["python", "-m", f"services.{service}"]
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["TAC_ENVIRONMENT"] == "development"
    assert env[f"{prefix}DATABASE_URL"] == _database_url(service)
    assert env[f"{prefix}HOST"] == "0.0.0.0", "127.0.0.1 is unreachable from outside the container"
    assert env[f"{prefix}PORT"] == str(PORTS[service])
    assert f"127.0.0.1:{PORTS[service]}:{PORTS[service]}" in svc["ports"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_compose_service_is_health_checked_on_its_own_health_endpoint(service: str) -> None:
    check = " ".join(_compose_services()[service]["healthcheck"]["test"])
    assert f"127.0.0.1:{PORTS[service]}/health" in check


def test_compose_publishes_ports_on_localhost_only_because_the_dev_signing_key_is_public() -> None:
    for name, service in _compose_services().items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping} on every interface"


def test_compose_dependencies_exist_and_their_conditions_can_be_met() -> None:
    services = _compose_services()
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck for {name}"
            if spec["condition"] == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} must be a one-shot"


def test_compose_creates_the_tac_topics_with_the_default_partition_count_before_any_service() -> None:
    topics = _compose_services()["kafka-topics"]
    command = _command(topics)
    assert command[:4] == ["python", "-m", "services.common.kafka_admin", "ensure-topics"]
    assert _env(topics)["TAC_KAFKA_PARTITIONS"] == str(DEFAULT_PARTITIONS)
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    listed = {arg for arg in command if arg.startswith("tac.")}
    assert not listed or listed == TOPIC_NAMES, "topic names, if listed, are exactly schemas.topics"


def test_compose_gives_each_service_a_database_of_its_own_created_by_the_init_script() -> None:
    postgres = _compose_services()["postgres"]
    assert postgres["image"].split(":")[1].startswith("16")
    mounts = [v for v in postgres["volumes"] if "/docker-entrypoint-initdb.d/" in str(v)]
    assert len(mounts) == 1
    source = (COMPOSE.parent / str(mounts[0]).split(":")[0]).resolve()
    assert source == POSTGRES_INIT
    created = re.findall(r"^\s*CREATE DATABASE (\w+)", POSTGRES_INIT.read_text(encoding="utf-8"), re.M | re.I)
    assert sorted(created) == sorted(SERVICES)


# ------------------------------------------------------------------------------- settings names


def _settings_class(service: str) -> type[BaseServiceSettings]:
    module = importlib.import_module(f"services.{service}.config")
    classes = [
        c for _, c in inspect.getmembers(module, inspect.isclass)
        if issubclass(c, BaseServiceSettings) and c is not BaseServiceSettings and c.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"services.{service}.config defines {len(classes)} settings classes"
    return classes[0]


def _env_names(cls: type[BaseServiceSettings]) -> set[str]:
    return {name for field in cls.model_fields for name in cls.env_names(field)}


# Only the services whose settings exist yet: the others are being written now.
CONFIGURED = [s for s in SERVICES if importlib.util.find_spec(f"services.{s}.config") is not None]


def test_at_least_one_service_has_settings_to_check_the_deploy_files_against() -> None:
    assert CONFIGURED


def _use_only(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `env` the whole of the process's TAC configuration."""
    for name in list(os.environ):
        if name.startswith(("TAC_", "KAFKA_", "FAUST_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("service", CONFIGURED)
def test_the_compose_environment_is_read_by_the_services_settings(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydantic-settings ignores a variable it does not know, so a misspelt name would pass
    silently: build the settings from exactly the compose environment and compare."""
    env = _env(_compose_services()[service])
    cls = _settings_class(service)
    assert set(env) <= _env_names(cls), set(env) - _env_names(cls)
    _use_only(env, monkeypatch)
    settings = cls()
    assert settings.environment == "development"
    assert settings.database_url == _database_url(service)
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert getattr(settings, "port", PORTS[service]) == PORTS[service]


@pytest.mark.parametrize("service", CONFIGURED)
def test_the_kubernetes_environment_names_are_read_by_the_services_settings(service: str) -> None:
    container = _main_container(service)
    names = set(_config_maps_of(container)) | {f"TAC_{service.upper()}_DATABASE_URL"}
    known = _env_names(_settings_class(service))
    assert names <= known, names - known


# What an operator puts in the deliberately empty values of the Kubernetes ConfigMaps.
OPERATOR_VALUES = {
    "TAC_JWT_JWKS_URL": "https://login.example.org/.well-known/jwks.json",
    "TAC_JWT_ISSUER": "https://login.example.org",
    "TAC_NOTIFICATIONS_SMTP_HOST": "smtp.example.org",
    "TAC_TIMELINE_PUBLIC_URL": "https://tac.example.org",
}


def _kubernetes_env(service: str) -> dict[str, str]:
    env = dict(_config_maps_of(_main_container(service)))
    env[f"TAC_{service.upper()}_DATABASE_URL"] = f"postgresql+psycopg://tac:secret@db.example.org:5432/{service}"
    return env


@pytest.mark.parametrize("service", CONFIGURED)
def test_the_kubernetes_configuration_starts_in_production_once_the_operator_values_are_set(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _kubernetes_env(service)
    blanks = {name for name, value in env.items() if value == ""}
    assert blanks <= set(OPERATOR_VALUES), f"no operator value known for {blanks - set(OPERATOR_VALUES)}"
    _use_only({**env, **{name: OPERATOR_VALUES[name] for name in blanks}}, monkeypatch)
    settings = _settings_class(service)()
    assert settings.environment == "production"
    assert settings.jwt_jwks_url == OPERATOR_VALUES["TAC_JWT_JWKS_URL"]
    assert (getattr(settings, "host", "0.0.0.0"), getattr(settings, "port", PORTS[service])) == ("0.0.0.0", PORTS[service])


@pytest.mark.parametrize("service", CONFIGURED)
def test_the_kubernetes_configuration_refuses_to_start_until_the_jwks_url_is_set(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_only(_kubernetes_env(service), monkeypatch)
    with pytest.raises(ValidationError) as refused:
        _settings_class(service)()
    assert "TAC_JWT_JWKS_URL" in str(refused.value)


# ------------------------------------------------------------------------------- Kubernetes


def test_the_kustomization_lists_every_manifest_and_puts_them_in_the_tac_namespace() -> None:
    (kustomization,) = _load_all(K8S / "kustomization.yaml")
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    assert kustomization["namespace"] == _one("Namespace")["metadata"]["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_deployment_and_a_service_on_its_port(service: str) -> None:
    deployment = _one("Deployment", service)
    svc = _one("Service", service)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    (port,) = svc["spec"]["ports"]
    container_ports = {p["name"]: p["containerPort"] for p in _main_container(service)["ports"]}
    assert port["port"] == PORTS[service]
    assert container_ports[port["targetPort"]] == PORTS[service]
    assert _main_container(service)["command"] == ["python", "-m", f"services.{service}"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_is_ready_on_ready_and_alive_on_health(service: str) -> None:
    container = _main_container(service)
    http_port = next(p["name"] for p in container["ports"])
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": http_port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": http_port}


@pytest.mark.parametrize("service", SERVICES)
def test_each_container_requests_and_is_limited_in_cpu_and_memory(service: str) -> None:
    for container in _all_containers(service):
        resources = container["resources"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[kind]), f"{container['name']} {kind}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_pod_runs_as_uid_10001_without_privileges_on_a_read_only_root(service: str) -> None:
    pod = _pod_spec(service)["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == UID
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    for container in _all_containers(service):
        sc = container["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == UID, container["name"]
        assert sc["readOnlyRootFilesystem"] is True, container["name"]
        assert sc["allowPrivilegeEscalation"] is False, container["name"]
        assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), container["name"]
        assert sc["seccompProfile"]["type"] == "RuntimeDefault", container["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_read_only_pod_writes_only_to_empty_dirs_for_tmp_and_service_data(service: str) -> None:
    volumes = {v["name"]: v for v in _pod_spec(service)["volumes"]}
    container = _main_container(service)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert {"/tmp", "/var/lib/tac"} <= set(mounts)
    for name in mounts.values():
        assert "emptyDir" in volumes[name]
    for key, value in _config_maps_of(container).items():
        if key.endswith("DATADIR"):
            assert value.startswith("/var/lib/tac/"), f"{key} must be on the writable volume"


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_migrates_in_an_init_container_with_the_services_own_configuration(service: str) -> None:
    (init,) = _pod_spec(service)["initContainers"]
    main = _main_container(service)
    assert init["command"] == ["python", "-m", f"services.{service}", "migrate"]
    assert init["image"] == main["image"]
    assert init["envFrom"] == main["envFrom"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_reads_configmaps_and_its_database_url_from_a_secret_in_production(service: str) -> None:
    container = _main_container(service)
    config = _config_maps_of(container)
    assert config["TAC_ENVIRONMENT"] == "production"
    assert "TAC_JWT_JWKS_URL" in config
    assert not any(key.endswith("DATABASE_URL") for key in config), "a database URL carries a password"
    assert _secret_refs(container) == [f"tac-{service}-secrets"]
    assert config[f"TAC_{service.upper()}_PORT"] == str(PORTS[service])
    assert config[f"TAC_{service.upper()}_HOST"] == "0.0.0.0"


def test_no_secret_is_committed_in_the_manifests() -> None:
    assert not _k8s("Secret")


@pytest.mark.parametrize("service", ["referrals", "consent"])
def test_the_outbox_services_run_two_replicas(service: str) -> None:
    assert _one("Deployment", service)["spec"]["replicas"] == 2


@pytest.mark.parametrize("service", ["timeline", "notifications"])
def test_the_consuming_services_run_at_least_two_and_at_most_one_replica_per_partition(service: str) -> None:
    assert 2 <= _one("Deployment", service)["spec"]["replicas"] <= DEFAULT_PARTITIONS


def test_the_kafka_cluster_is_kraft_with_a_node_pool_of_three_and_min_insync_replicas_two() -> None:
    kafka = _one("Kafka")
    pool = _one("KafkaNodePool")
    assert kafka["apiVersion"] == pool["apiVersion"] == "kafka.strimzi.io/v1beta2"
    annotations = kafka["metadata"]["annotations"]
    assert annotations["strimzi.io/kraft"] == "enabled"
    assert annotations["strimzi.io/node-pools"] == "enabled"
    assert str(kafka["spec"]["kafka"]["version"]).startswith("3.9.")
    assert "zookeeper" not in kafka["spec"]
    config = kafka["spec"]["kafka"]["config"]
    assert config["min.insync.replicas"] == 2
    assert config["default.replication.factor"] == 3
    assert config["auto.create.topics.enable"] is False
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert pool["spec"]["replicas"] == 3
    assert set(pool["spec"]["roles"]) == {"broker", "controller"}
    assert "topicOperator" in kafka["spec"]["entityOperator"], "the KafkaTopics need the topic operator"


def test_the_kafka_topics_are_exactly_the_tac_topics_with_six_partitions_and_three_replicas() -> None:
    kafka_name = _one("Kafka")["metadata"]["name"]
    topics = _k8s("KafkaTopic")
    names = [t["spec"].get("topicName", t["metadata"]["name"]) for t in topics]
    assert sorted(names) == sorted(TOPIC_NAMES)
    for topic in topics:
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka_name
        assert topic["spec"]["partitions"] == DEFAULT_PARTITIONS
        assert topic["spec"]["replicas"] == 3
        assert topic["spec"].get("config", {}).get("min.insync.replicas", 2) == 2


def test_the_services_bootstrap_from_the_strimzi_clusters_plain_listener() -> None:
    kafka = _one("Kafka")
    plain = [l for l in kafka["spec"]["kafka"]["listeners"] if l["type"] == "internal" and l["tls"] is False]
    assert plain, "the services' Kafka clients speak PLAINTEXT only"
    expected = {f"{kafka['metadata']['name']}-kafka-bootstrap:{l['port']}" for l in plain}
    for service in SERVICES:
        assert _config_maps_of(_main_container(service))["KAFKA_BOOTSTRAP_SERVERS"] in expected
