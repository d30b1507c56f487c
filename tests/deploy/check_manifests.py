#!/usr/bin/python3
"""Validates deploy/kubernetes offline: every overlay builds with
`kubectl kustomize` (Debian 12's kubectl 1.20, kustomize v2, or newer), and
what it builds holds together:
- each Deployment's and StatefulSet's selector selects its own pods, and
  every Service and PodDisruptionBudget selects servers;
- sharded servers (--shard=i/N) cover every shard once, each shard behind
  a Service that selects that shard's pods only, and the sharded load is an
  Indexed Job of N pods building shard $(JOB_COMPLETION_INDEX);
- servers have startup, readiness (gRPC health of predstore.v1.Predictions)
  and liveness probes, resource requests, a scrape annotation, and mount the
  data volume read-only; loads mount it read-write;
- every volume names a claim or secret the build defines (the admin token
  secret may come from the cluster: the README says to create it);
- every server flag is one predstore-server accepts (--helpfull), and every
  loader subcommand one predstore-load accepts;
- the overlay's image replaced the base's placeholder.
Usage: check_manifests.py SOURCE_DIR SERVER_BINARY LOADER_BINARY
"""
import re
import shutil
import subprocess
import sys

import yaml

SOURCE, SERVER, LOADER = sys.argv[1:4]
OVERLAYS = ["dev", "replicas", "shards"]
failures = []


def fail(overlay, message):
    failures.append(f"{overlay}: {message}")


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def server_flags():
    text = subprocess.run([SERVER, "--helpfull"], capture_output=True, text=True).stdout
    return set(re.findall(r"^\s+--([a-z_]+)", text, re.M))


def check(overlay, docs, flags):
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    claims = {d["metadata"]["name"] for d in by_kind.get("PersistentVolumeClaim", [])}
    secrets = {d["metadata"]["name"] for d in by_kind.get("Secret", [])}
    deployments = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    if not deployments:
        fail(overlay, "no Deployment or StatefulSet")
    pod_specs = []
    for d in deployments:
        labels = d["spec"]["template"]["metadata"]["labels"]
        if not selects(d["spec"]["selector"]["matchLabels"], labels):
            fail(overlay, f"Deployment {d['metadata']['name']} does not select its own pods")
        annotations = d["spec"]["template"]["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") != "true":
            fail(overlay, "servers lack the prometheus.io/scrape annotation")
        pod_specs.append(("server", labels, d["spec"]["template"]["spec"]))
    for job in by_kind.get("Job", []):
        pod_specs.append(("load", {}, job["spec"]["template"]["spec"]))
    for cron in by_kind.get("CronJob", []):
        pod_specs.append(("load", {}, cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    server_labels = [labels for role, labels, _ in pod_specs if role == "server"]
    for service in by_kind.get("Service", []):
        if service["spec"].get("clusterIP") != "None":
            fail(overlay, f"Service {service['metadata']['name']} is not headless (client-side balancing)")
        if not any(selects(service["spec"]["selector"], l) for l in server_labels):
            fail(overlay, f"Service {service['metadata']['name']} selects no server")
    shard_of_labels = []
    for d in deployments:
        args = d["spec"]["template"]["spec"]["containers"][0].get("args", [])
        shards = [a.split("=", 1)[1] for a in args if a.startswith("--shard=")]
        if shards:
            shard_of_labels.append((d["spec"]["template"]["metadata"]["labels"], shards[0]))
    if shard_of_labels:
        counts = {spec.split("/")[1] for _, spec in shard_of_labels}
        indexes = sorted(int(spec.split("/")[0]) for _, spec in shard_of_labels)
        if len(counts) != 1 or indexes != list(range(int(counts.pop()))):
            fail(overlay, f"server shards {indexes} do not cover each shard once")
        for service in by_kind.get("Service", []):
            served = {spec for labels, spec in shard_of_labels if selects(service["spec"]["selector"], labels)}
            if len(served) != 1:
                fail(overlay, f"Service {service['metadata']['name']} selects shards {sorted(served)}, not one")
        loads = [c["spec"]["jobTemplate"]["spec"] for c in by_kind.get("CronJob", [])]
        total = len(indexes)
        for job in loads:
            args = job["template"]["spec"]["containers"][0]["args"]
            if (job.get("completionMode") != "Indexed" or job.get("completions") != total
                    or f"--shard=$(JOB_COMPLETION_INDEX)/{total}" not in args
                    or not any(a.startswith("--build_id=") for a in args)):
                fail(overlay, "the sharded load is not an Indexed Job building one shard per pod with a build id")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        if not any(selects(pdb["spec"]["selector"]["matchLabels"], l) for l in server_labels):
            fail(overlay, "the PodDisruptionBudget selects no server")
    for role, _, spec in pod_specs:
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for v in volumes.values():
            if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in claims:
                fail(overlay, f"volume {v['name']} names an undefined claim")
            if "secret" in v and secrets and v["secret"]["secretName"] not in secrets:
                fail(overlay, f"volume {v['name']} names secret {v['secret']['secretName']}, not the generated one")
        for c in spec["containers"]:
            if "predstore" not in c["image"] or c["image"] == "predstore":
                fail(overlay, f"{role} image {c['image']!r} was not set by the overlay")
            if "requests" not in c.get("resources", {}):
                fail(overlay, f"{role} container has no resource requests")
            data = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/data"]
            if len(data) != 1:
                fail(overlay, f"{role} does not mount /data")
            elif data[0].get("readOnly", False) != (role == "server"):
                fail(overlay, f"{role} mounts /data {'read-write' if role == 'server' else 'read-only'}")
            if role == "server":
                for probe in ["startupProbe", "readinessProbe", "livenessProbe"]:
                    if probe not in c:
                        fail(overlay, f"server has no {probe}")
                if c.get("readinessProbe", {}).get("grpc", {}).get("service") != "predstore.v1.Predictions":
                    fail(overlay, "readiness is not the gRPC health of predstore.v1.Predictions")
                for arg in c.get("args", []):
                    name = arg[2:].split("=")[0]
                    if name not in flags:
                        fail(overlay, f"server flag --{name} is not one predstore-server accepts")
            else:
                text = " ".join(c.get("command", []) + c.get("args", []))
                for command in re.findall(r"predstore-load (\w[\w-]*)", text) + (
                        [c["args"][0]] if c.get("command") == ["predstore-load"] else []):
                    if subprocess.run([LOADER, command, "--help"], capture_output=True).returncode != 0:
                        fail(overlay, f"predstore-load has no command {command!r}")


def main():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl not found: install-deps.sh installs Debian's kubernetes-client")
        return 1
    flags = server_flags()
    if "data_dir" not in flags:
        print(f"could not read {SERVER} --helpfull")
        return 1
    for overlay in OVERLAYS:
        path = f"{SOURCE}/deploy/kubernetes/overlays/{overlay}"
        built = subprocess.run([kubectl, "kustomize", path], capture_output=True, text=True)
        if built.returncode != 0:
            fail(overlay, f"kubectl kustomize failed: {built.stderr.strip()}")
            continue
        docs = [d for d in yaml.safe_load_all(built.stdout) if d]
        check(overlay, docs, flags)
        print(f"{overlay}: {len(docs)} objects: " + ", ".join(sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)))
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
