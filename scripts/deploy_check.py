"""Checks the Kubernetes kit in deploy/ (run through scripts/deploy-check.sh, which makes the venv).

    deploy_check.py check [--root DIR]     render every overlay, validate every object, lint the
                                           Dockerfile, check the alert rules and the kit's consistency
                                           with queues.yaml and workers/; exit 1 on any problem
    deploy_check.py render OVERLAY_DIR     print one overlay's objects as YAML (what kubectl applies)

What each object is validated against:
- core kinds: the Kubernetes OpenAPI schemas bundled by kubernetes-validate, in strict mode (an
  unknown field fails), for the oldest and the newest Kubernetes versions in K8S_VERSIONS;
- CRD kinds: deploy/schemas/*.schema.json (JSON Schema 2020-12, written for this kit);
- any other kind fails: add its schema first.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

import jsonschema
import kubernetes_validate
import yaml

import deploy_kustomize

K8S_VERSIONS = ["1.31.0", "1.37.0"]
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.schema.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication.schema.json",
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmqcluster.schema.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.schema.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.schema.json",
}
HTTP_ADDRESS = "0.0.0.0:9090"
STORES = ["postgres", "redis", "mongodb", "neo4j", "clickhouse"]

# Metric names an alert rule may use.
# The fleet's own, as fixed by issue 14's shared plan (histograms also as _bucket, _sum, _count).
FLEET_METRICS = {
    "fleet_jobs_started_total", "fleet_jobs_total", "fleet_jobs_dead_lettered_total", "fleet_jobs_in_flight",
    "fleet_consumer_concurrency", "fleet_consumer_prefetch", "fleet_broker_reconnects_total",
    "fleet_broker_blocked", "fleet_ready", "fleet_store_errors_total", "fleet_store_pool_connections",
    "fleet_store_pool_waiters", "fleet_followups_published_total",
}
FLEET_HISTOGRAMS = {"fleet_job_duration_seconds", "fleet_lock_wait_seconds", "fleet_store_call_duration_seconds"}
# The RabbitMQ Prometheus plugin's per-queue series (names read from rabbitmq_prometheus 3.10.8's
# collector, the broker version the fleet is tested against).
RABBITMQ_METRICS = {
    "rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked", "rabbitmq_queue_messages",
    "rabbitmq_queue_consumers", "rabbitmq_queue_messages_published_total",
}
# kube-state-metrics, and Prometheus's own per-target series.
KUBE_METRICS = {"kube_pod_status_ready", "kube_deployment_status_replicas_available", "up"}
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                "bool", "offset", "inf", "nan"}
REQUIRED_ALERTS = {"FleetDeadLettersGrowing", "FleetQueueWaitTooLong", "FleetBrokerBlocked", "FleetReadinessFlapping"}


class Problems:
    def __init__(self):
        self.items = []
        self.checks = 0

    def check(self, ok, message):
        self.checks += 1
        if not ok:
            self.items.append(message)
        return ok


def known_metrics():
    names = FLEET_METRICS | RABBITMQ_METRICS | KUBE_METRICS
    for histogram in FLEET_HISTOGRAMS:
        names |= {histogram + suffix for suffix in ("_bucket", "_sum", "_count")}
    return names


def metric_names(expr):
    """The metric names a PromQL expression reads (not functions, keywords, labels or durations)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', str(expr))  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        name = match.group(0)
        following = text[match.end():].lstrip()
        if following.startswith("(") or name.lower() in PROMQL_WORDS:
            continue
        if match.start() > 0 and (text[match.start() - 1].isdigit() or text[match.start() - 1] == "."):
            continue  # the exponent or unit of a number
        names.add(name)
    return names


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def duration_seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(text))
    return int(match.group(1)) * units[match.group(2)] if match else None


class Repository:
    """The fleet's own configuration the kit must agree with."""

    def __init__(self, root):
        self.root = root
        self.queues = load_yaml(os.path.join(root, "queues.yaml"))
        workers_dir = os.path.join(root, "workers")
        self.workers = {}
        for file in sorted(os.listdir(workers_dir)):
            if file.endswith(".yaml"):
                manifest = load_yaml(os.path.join(workers_dir, file))
                self.workers[manifest["name"]] = manifest

    def prefetch(self, queue):
        settings = self.queues.get("queues", {}).get(queue) or {}
        return settings.get("prefetch", self.queues.get("queue_defaults", {}).get("prefetch"))


def renderings(root):
    overlays = os.path.join(root, "deploy", "overlays")
    found = []
    for directory, _, files in os.walk(overlays):
        if "kustomization.yaml" in files:
            found.append(directory)
    return sorted(found)


def validate_objects(root, label, objects, problems):
    counts = {"core": 0, "crd": 0}
    schemas = {}
    for obj in objects:
        api, kind = obj.get("apiVersion"), obj.get("kind")
        name = f"{label}: {kind} {obj.get('metadata', {}).get('name')}"
        if (api, kind) in CRD_SCHEMAS:
            file = CRD_SCHEMAS[(api, kind)]
            if file not in schemas:
                schemas[file] = load_yaml(os.path.join(root, "deploy", "schemas", file))
                jsonschema.Draft202012Validator.check_schema(schemas[file])
            errors = sorted(jsonschema.Draft202012Validator(schemas[file]).iter_errors(obj), key=str)
            problems.check(not errors, f"{name}: " + "; ".join(
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]))
            counts["crd"] += 1
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
                problems.check(True, "")
            except kubernetes_validate.SchemaNotFoundError:
                problems.check(False, f"{name}: no Kubernetes {version} schema and no CRD schema for {api} {kind}")
            except kubernetes_validate.ValidationError as error:
                problems.check(False, f"{name}: Kubernetes {version}: {error.message} at "
                                      f"{'/'.join(map(str, error.path))}")
        counts["core"] += 1
    return counts


def cross_check_with_kubectl(directory, label, objects, problems):
    """Where kubectl (which bundles kustomize) is installed, it must render the same objects."""
    kubectl = shutil.which("kubectl")
    if kubectl is None or os.environ.get("DEPLOY_CHECK_KUBECTL") == "0":
        return False
    result = subprocess.run([kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", directory],
                            capture_output=True, text=True)
    if not problems.check(result.returncode == 0, f"{label}: kubectl kustomize failed: {result.stderr.strip()}"):
        return True
    theirs = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(result.stdout) if o}
    ours = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    problems.check(set(theirs) == set(ours),
                   f"{label}: kubectl kustomize renders {sorted(set(theirs) ^ set(ours))} differently")
    for key in set(theirs) & set(ours):
        problems.check(theirs[key] == ours[key], f"{label}: {key[0]} {key[1]}: kubectl kustomize renders it differently")
    return True


def containers_of(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec.get("containers", [])


def image_tag(image):
    if "@sha256:" in image:
        return "digest"
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def arg_value(args, flag):
    return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else None


def check_pods(label, objects, problems):
    """What every pod of the kit must be: restricted, pinned, bounded, secrets by reference."""
    for obj in objects:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        name = f"{label}: {obj['kind']} {obj['metadata']['name']}"
        pod = obj["spec"]["template"]["spec"]
        security = pod.get("securityContext", {})
        problems.check(security.get("runAsNonRoot") is True, f"{name}: pod securityContext.runAsNonRoot is not true")
        problems.check(security.get("seccompProfile", {}).get("type") == "RuntimeDefault",
                       f"{name}: pod seccompProfile is not RuntimeDefault")
        for container in containers_of(pod):
            where = f"{name} container {container['name']}"
            context = container.get("securityContext", {})
            problems.check(context.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation is not false")
            problems.check(context.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem is not true")
            problems.check("ALL" in context.get("capabilities", {}).get("drop", []), f"{where}: capabilities do not drop ALL")
            tag = image_tag(container.get("image", ""))
            problems.check(tag not in (None, "latest"), f"{where}: image {container.get('image')} is not pinned")
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    problems.check(resource in resources.get(kind, {}), f"{where}: no {kind}.{resource}")
            for variable in container.get("env", []):
                check_env(where, variable, problems)
        for volume in pod.get("volumes", []):
            problems.check("hostPath" not in volume, f"{name}: hostPath volume {volume['name']}")


def check_env(where, variable, problems):
    """No credential as a literal: URLs and keys come from Secrets (envFrom or secretKeyRef)."""
    name, value = variable["name"], variable.get("value")
    if value is None:
        source = variable.get("valueFrom", {})
        problems.check("configMapKeyRef" not in source or not re.search(r"URL|PASSWORD|SECRET|TOKEN", name),
                       f"{where}: {name} comes from a ConfigMap; credentials belong in a Secret")
        return
    problems.check(not re.search(r"://[^/@\s]*:[^/@\s]*@", value), f"{where}: {name} holds a URL with a password")
    problems.check(not re.search(r"(_URL|PASSWORD|SECRET|TOKEN|_KEY)$", name),
                   f"{where}: {name} is set to a literal; take it from a Secret")


def check_fleet_deployments(label, objects, problems):
    """Every long-running fleet process: the fixed endpoints, and a grace period covering the drain."""
    for obj in objects:
        if obj["kind"] != "Deployment" or obj["metadata"].get("labels", {}).get("app.kubernetes.io/name") != "fleet":
            continue
        name = f"{label}: Deployment {obj['metadata']['name']}"
        pod = obj["spec"]["template"]["spec"]
        fleet = next((c for c in pod["containers"] if c["name"] == "fleet"), None)
        if not problems.check(fleet is not None, f"{name}: no container named fleet"):
            continue
        args = fleet.get("args", [])
        env = {v["name"]: v.get("value") for v in fleet.get("env", [])}
        address = arg_value(args, "--http-address") or env.get("FLEET_HTTP_ADDRESS")
        problems.check(address == HTTP_ADDRESS, f"{name}: listener is {address!r}, not {HTTP_ADDRESS}")
        problems.check(arg_value(args, "--config-dir") == "/etc/fleet", f"{name}: --config-dir is not /etc/fleet")
        ports = {p.get("name"): p.get("containerPort") for p in fleet.get("ports", [])}
        problems.check(ports.get("http") == 9090, f"{name}: no container port http 9090")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = fleet.get(probe, {}).get("httpGet", {})
            problems.check(get.get("path") == path and get.get("port") == "http",
                           f"{name}: {probe} is not GET {path} on port http")
        pre_stop = fleet.get("lifecycle", {}).get("preStop", {})
        command = pre_stop.get("exec", {}).get("command", [])
        sleep = int(command[-1]) if command[:1] == ["/bin/sleep"] else pre_stop.get("sleep", {}).get("seconds")
        problems.check(isinstance(sleep, int) and sleep > 0, f"{name}: no preStop sleep")
        # `fleet run`'s default drain timeout is 20 s; the scheduler and the relay finish one batch.
        drain = int(arg_value(args, "--drain-timeout") or 20)
        grace = pod.get("terminationGracePeriodSeconds", 30)
        problems.check(grace > drain + (sleep or 0),
                       f"{name}: terminationGracePeriodSeconds {grace} does not exceed drain {drain} + preStop {sleep}")
        config = next((v for v in pod.get("volumes", []) if v["name"] == "config"), {})
        problems.check(config.get("configMap", {}).get("name", "").startswith("fleet-config-"),
                       f"{name}: /etc/fleet is not the generated fleet-config ConfigMap")


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def check_workers(label, objects, repo, problems):
    """Each workers/*.yaml manifest: a Deployment, a PDB and a ScaledObject on its own queue."""
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    deployments = by_kind.get("Deployment", {})
    for worker, manifest in repo.workers.items():
        name = f"{label}: worker {worker}"
        deployment = deployments.get(f"fleet-{worker}")
        if not problems.check(deployment is not None, f"{name}: no Deployment fleet-{worker}"):
            continue
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        args = deployment["spec"]["template"]["spec"]["containers"][0].get("args", [])
        problems.check(args[:1] == ["run"] and arg_value(args, "--worker") == worker,
                       f"{name}: Deployment does not run `fleet run --worker {worker}`")
        # Least privilege: the worker's own secret (its broker user, its PostgreSQL role) comes last,
        # so it wins over the shared store URLs; the owners' secret (fleet-servers) is the migration Job's.
        secrets = [e.get("secretRef", {}).get("name")
                   for e in deployment["spec"]["template"]["spec"]["containers"][0].get("envFrom", [])]
        problems.check(secrets == ["fleet-stores", f"fleet-worker-{worker}"],
                       f"{name}: envFrom secrets {secrets}, not [fleet-stores, fleet-worker-{worker}]")
        stores = {s for s in STORES if pod_labels.get(f"workerfleet.io/store-{s}") == "true"}
        problems.check(stores == set(manifest.get("stores", [])),
                       f"{name}: pod store labels {sorted(stores)} are not the manifest's stores {manifest.get('stores')}")
        problems.check(any(selects(p["spec"]["selector"], pod_labels) for p in by_kind.get("PodDisruptionBudget", {}).values()),
                       f"{name}: no PodDisruptionBudget selects its pods")
        scaled = [s for s in by_kind.get("ScaledObject", {}).values() if s["spec"]["scaleTargetRef"]["name"] == f"fleet-{worker}"]
        if not problems.check(len(scaled) == 1, f"{name}: {len(scaled)} ScaledObjects target fleet-{worker}, not 1"):
            continue
        triggers = scaled[0]["spec"]["triggers"]
        queues = sorted(t["metadata"].get("queueName") for t in triggers if t["type"] == "rabbitmq")
        problems.check(queues == sorted(manifest["queues"]),
                       f"{name}: ScaledObject scales on {queues}, the manifest consumes {manifest['queues']}")
        for trigger in triggers:
            metadata = trigger["metadata"]
            problems.check("host" not in metadata and "authenticationRef" in trigger,
                           f"{name}: the trigger's broker address must come from a TriggerAuthentication")
            prefetch = repo.prefetch(metadata.get("queueName"))
            problems.check(prefetch is not None and float(metadata.get("value", 0)) > prefetch,
                           f"{name}: KEDA target {metadata.get('value')} must exceed the queue's prefetch {prefetch}, "
                           "or a replica's own unacked deliveries add replicas")
        problems.check("replicas" not in deployment["spec"],
                       f"{name}: Deployment sets replicas, which fights the ScaledObject")


def check_config(label, objects, repo, problems):
    """The ConfigMap is the repository's files, and every pod mounts each at its path."""
    config_maps = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("fleet-config-")]
    if not problems.check(len(config_maps) == 1, f"{label}: {len(config_maps)} fleet-config ConfigMaps, not 1"):
        return
    data = config_maps[0]["data"]
    expected = {"queues.yaml": "queues.yaml", "schedules.yaml": "schedules.yaml"}
    expected.update({f"worker-{w}.yaml": f"workers/{w}.yaml" for w in repo.workers})
    for key, path in expected.items():
        if key == "schedules.yaml" and not os.path.exists(os.path.join(repo.root, path)):
            continue
        with open(os.path.join(repo.root, path), encoding="utf-8") as handle:
            problems.check(data.get(key) == handle.read(), f"{label}: ConfigMap key {key} is not {path}")
    problems.check(set(data) == set(expected), f"{label}: ConfigMap keys {sorted(set(data) ^ set(expected))} unexpected or missing")
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "fleet":
            volume = next((v for v in obj["spec"]["template"]["spec"].get("volumes", []) if v["name"] == "config"), {})
            items = {i["key"]: i["path"] for i in volume.get("configMap", {}).get("items", [])}
            problems.check(items == expected, f"{label}: Deployment {obj['metadata']['name']} mounts {items}")


def check_broker_and_network(label, objects, repo, problems):
    kinds = {}
    for obj in objects:
        kinds.setdefault(obj["kind"], []).append(obj)
    clusters = kinds.get("RabbitmqCluster", [])
    if problems.check(len(clusters) == 1, f"{label}: {len(clusters)} RabbitmqClusters, not 1"):
        spec = clusters[0]["spec"]
        if os.path.basename(label) == "prod":
            problems.check(spec.get("replicas") == 3, f"{label}: RabbitmqCluster replicas {spec.get('replicas')}, not 3")
        config = spec.get("rabbitmq", {}).get("additionalConfig", "")
        timeout = duration_seconds(repo.queues.get("broker_consumer_timeout", "30m"))
        problems.check(re.search(rf"^consumer_timeout = {int(timeout * 1000)}$", config, re.M) is not None,
                       f"{label}: RabbitmqCluster consumer_timeout is not queues.yaml's broker_consumer_timeout")
        problems.check(re.search(r"^prometheus.return_per_object_metrics = true$", config, re.M) is not None,
                       f"{label}: per-queue Prometheus metrics (the alert rules need them) are off")
        problems.check(not re.search(r"default_(user|pass)", config), f"{label}: broker credentials in additionalConfig")
    problems.check(repo.queues.get("queue_defaults", {}).get("type") == "quorum",
                   "queues.yaml: queue_defaults.type is not quorum (rabbitmq.yaml says it is)")
    problems.check(not kinds.get("Secret"), f"{label}: renders a Secret; secrets are created apart, never in the kit")
    policies = {p["metadata"]["name"]: p for p in kinds.get("NetworkPolicy", [])}
    deny = policies.get("fleet-default-deny", {}).get("spec", {})
    problems.check(set(deny.get("policyTypes", [])) == {"Ingress", "Egress"} and not deny.get("ingress") and not deny.get("egress"),
                   f"{label}: no default-deny NetworkPolicy for both directions")
    used = {s for o in kinds.get("Deployment", []) + kinds.get("Job", [])
            for s in STORES if o["spec"]["template"]["metadata"]["labels"].get(f"workerfleet.io/store-{s}") == "true"}
    for store in used:
        problems.check(f"fleet-egress-{store}" in policies, f"{label}: pods use {store} but no NetworkPolicy lets them reach it")
    ingress = [p for p in policies.values() if p["spec"].get("ingress")]
    for policy in ingress:
        ports = {port.get("port") for rule in policy["spec"]["ingress"] for port in rule.get("ports", [])}
        problems.check(ports == {9090}, f"{label}: NetworkPolicy {policy['metadata']['name']} admits ports {ports}, not only 9090")


def check_monitoring(label, objects, problems):
    services = [o for o in objects if o["kind"] == "Service"]
    monitors = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceMonitor"}
    fleet = monitors.get("fleet")
    if problems.check(fleet is not None, f"{label}: no ServiceMonitor fleet"):
        selected = [s for s in services if selects(fleet["spec"]["selector"], s["metadata"].get("labels", {}))]
        ports = {p.get("name") for s in selected for p in s["spec"].get("ports", [])}
        problems.check(selected and all(e.get("port") in ports and e.get("path", "/metrics") == "/metrics"
                                        for e in fleet["spec"]["endpoints"]),
                       f"{label}: ServiceMonitor fleet scrapes no Service port named http at /metrics")
        problems.check(all(s["spec"].get("publishNotReadyAddresses") is True for s in selected),
                       f"{label}: the metrics Service drops unready pods, so fleet_ready == 0 is never scraped")
    rules = [r for o in objects if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"] for r in g["rules"]]
    known = known_metrics()
    alerts = set()
    for rule in rules:
        alert = rule.get("alert", rule.get("record"))
        alerts.add(alert)
        names = metric_names(rule["expr"])
        problems.check(names and names <= known, f"{label}: alert {alert} reads unknown metrics {sorted(names - known)}")
        if "alert" in rule:
            problems.check(rule.get("labels", {}).get("severity") in ("info", "warning", "critical"),
                           f"{label}: alert {alert} has no severity")
            problems.check("summary" in rule.get("annotations", {}), f"{label}: alert {alert} has no summary")
    problems.check(REQUIRED_ALERTS <= alerts, f"{label}: missing alerts {sorted(REQUIRED_ALERTS - alerts)}")
    return len(rules)


def check_migration(label, objects, sibling, problems):
    """A migrate/ rendering: one Job named after the release's image tag, schema before topology."""
    jobs = [o for o in objects if o["kind"] == "Job"]
    if not problems.check(len(jobs) == 1, f"{label}: {len(jobs)} Jobs, not 1"):
        return
    job = jobs[0]
    pod = job["spec"]["template"]["spec"]
    steps = [c.get("args", [])[:2] for c in containers_of(pod)]
    problems.check(steps == [["migrate", "--config-dir"], ["topology", "declare"]],
                   f"{label}: the Job does not run `fleet migrate` then `fleet topology declare` ({steps})")
    tags = {image_tag(c["image"]) for c in containers_of(pod)}
    # Dots and other characters of a tag are not allowed in a pod's host name: they become dashes.
    expected = {"fleet-migrate-" + re.sub(r"[^a-z0-9-]", "-", str(tag).lower()) for tag in tags}
    problems.check(len(tags) == 1 and {job["metadata"]["name"]} == expected,
                   f"{label}: Job {job['metadata']['name']} is not named after its image tag {sorted(map(str, tags))}")
    release = {image_tag(c["image"]) for o in sibling if o["kind"] == "Deployment"
               for c in containers_of(o["spec"]["template"]["spec"])}
    problems.check(tags == release, f"{label}: migrates with image tag {tags}, the overlay deploys {release}")


def lint_dockerfile(root, problems):
    hadolint = shutil.which("hadolint") or os.path.join(os.path.dirname(sys.executable), "hadolint")
    result = subprocess.run([hadolint, "--no-color", "--failure-threshold", "info", os.path.join(root, "Dockerfile")],
                            capture_output=True, text=True)
    problems.check(result.returncode == 0, f"Dockerfile: hadolint: {(result.stdout + result.stderr).strip()}")
    with open(os.path.join(root, "Dockerfile"), encoding="utf-8") as handle:
        text = handle.read()
    problems.check("--static-swift-stdlib" in text, "Dockerfile: the build does not link the Swift runtime statically")
    # Package.swift's release link reads the order files: a build without them fails.
    problems.check(re.search(r"^COPY bench/order/fleet\.order bench/order/fleet\.lds ", text, re.M) is not None,
                   "Dockerfile: the build stage does not copy bench/order/fleet.order and fleet.lds, "
                   "which the release link reads")
    # The release build's flags, from the repository this script is in (the kit under --root may be a copy).
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(here, "scripts", "lib", "release-build.sh"), encoding="utf-8") as handle:
        release = handle.read()
    flag = "-Xswiftc -Xfrontend -Xswiftc -function-sections"
    problems.check(flag in text and flag in release,
                   "Dockerfile: the build does not emit function sections as scripts/lib/release-build.sh does")
    ignore_path = os.path.join(root, ".dockerignore")
    if os.path.exists(ignore_path):
        with open(ignore_path, encoding="utf-8") as handle:
            ignored = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
        problems.check(not any(line in ("bench", "bench/", "bench/order", "bench/order/") for line in ignored),
                       ".dockerignore: excludes bench/order, which the image build copies")
    problems.check(re.search(r"^USER 10001", text, re.M) is not None, "Dockerfile: the runtime does not run as uid 10001")


def check(root):
    problems = Problems()
    repo = Repository(root)
    rendered = {}
    for directory in renderings(root):
        label = os.path.relpath(directory, os.path.join(root, "deploy"))
        try:
            rendered[label] = (directory, deploy_kustomize.render(directory))
        except (deploy_kustomize.RenderError, OSError, KeyError, yaml.YAMLError) as error:
            problems.check(False, f"{label}: does not render: {error}")
    totals = {"core": 0, "crd": 0, "rules": 0}
    cross_checked = 0
    for label, (directory, objects) in rendered.items():
        counts = validate_objects(root, label, objects, problems)
        totals["core"] += counts["core"]
        totals["crd"] += counts["crd"]
        cross_checked += cross_check_with_kubectl(directory, label, objects, problems)
        check_pods(label, objects, problems)
        if os.path.basename(label) == "migrate":
            sibling = rendered.get(os.path.dirname(label), (None, []))[1]
            check_migration(label, objects, sibling, problems)
            continue
        check_fleet_deployments(label, objects, problems)
        check_workers(label, objects, repo, problems)
        check_config(label, objects, repo, problems)
        check_broker_and_network(label, objects, repo, problems)
        totals["rules"] += check_monitoring(label, objects, problems)
    problems.check(any(os.path.basename(l) == "migrate" for l in rendered), "no overlay has a migrate/ kustomization")
    lint_dockerfile(root, problems)

    for item in problems.items:
        print(f"deploy-check: problem: {item}")
    summary = (f"{len(rendered)} renderings ({', '.join(rendered)}), {totals['core']} core objects against "
               f"Kubernetes {' and '.join(K8S_VERSIONS)} (strict), {totals['crd']} CRD objects against deploy/schemas, "
               f"{totals['rules']} alert rules, Dockerfile linted by hadolint, {problems.checks} checks; "
               + (f"kubectl kustomize rendered the same objects for {cross_checked}" if cross_checked
                  else "kubectl kustomize not run (not installed, or DEPLOY_CHECK_KUBECTL=0)"))
    if problems.items:
        print(f"deploy-check: FAILED: {len(problems.items)} problems; {summary}")
        return 1
    print(f"deploy-check: passed: {summary}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check")
    check_parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    render_parser = commands.add_parser("render")
    render_parser.add_argument("overlay")
    arguments = parser.parse_args()
    if arguments.command == "render":
        yaml.safe_dump_all(deploy_kustomize.render(arguments.overlay), sys.stdout, sort_keys=False)
        return 0
    return check(os.path.abspath(arguments.root))


if __name__ == "__main__":
    sys.exit(main())
