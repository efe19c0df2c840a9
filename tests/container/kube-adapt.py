#!/usr/bin/env python3
"""Turn `pfe k8s`'s StatefulSet into a Pod that podman 4.3's `kube play` runs.

usage: kube-adapt.py K8S_DIR WORK_DIR POD_NAME CLAIM_NAME > pod.yaml

K8S_DIR holds `pfe k8s` output (statefulset.yaml, configmap.yaml); WORK_DIR
holds certs/ (DOMAIN.crt/.key) and secrets/ (admin_password), the contents of
the TLS Secret and the generic Secret. Only what podman 4.3 lacks is adapted,
everything else of the pod template is kept as generated:

 1. StatefulSet -> Pod: podman 4.3 plays Pods and Deployments, not
    StatefulSets. The Pod is the StatefulSet's pod template (metadata.name is
    POD_NAME, so test runs do not collide).
 2. volumeClaimTemplates -> a persistentVolumeClaim volume named CLAIM_NAME,
    which podman maps to the named volume CLAIM_NAME (a StatefulSet's claim
    outlives its pods the same way).
 3. subPath is ignored by podman 4.3: the config file (the ConfigMap's
    prosody.cfg.lua, mounted with subPath) is written to WORK_DIR/config/ and
    mounted as a hostPath File at the same mountPath, read-only.
 4. secret and projected volumes are ignored by podman 4.3: the TLS Secret's
    files (WORK_DIR/certs, same file names as the generated items) and the
    generic Secret's files (WORK_DIR/secrets, mode 0440 group 999 as the
    projected defaultMode and fsGroup give) are hostPath Directories at the
    same mountPaths, read-only.
 5. startupProbe and readinessProbe do not exist in podman 4.3 (only the
    livenessProbe becomes the container's healthcheck): they are removed here
    and their commands are printed to stderr as JSON, for the test to run them
    inside the container itself.
"""
import json
import os
import sys

import yaml


def main() -> int:
    k8s_dir, work, pod_name, claim = sys.argv[1:5]
    with open(os.path.join(k8s_dir, "statefulset.yaml")) as f:
        sts = yaml.safe_load(f)
    with open(os.path.join(k8s_dir, "configmap.yaml")) as f:
        cm = yaml.safe_load(f)
    if sts.get("kind") != "StatefulSet":
        sys.exit(f"kube-adapt: {k8s_dir}/statefulset.yaml is a {sts.get('kind')}, not a StatefulSet")
    template = sts["spec"]["template"]
    spec = template["spec"]
    # 1.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name, "labels": template["metadata"].get("labels", {})},
        "spec": spec,
    }
    cm_name = cm["metadata"]["name"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    # 2.
    for t in sts["spec"].get("volumeClaimTemplates", []):
        volumes[t["metadata"]["name"]] = {
            "name": t["metadata"]["name"],
            "persistentVolumeClaim": {"claimName": claim},
        }
    probes = {}
    for c in spec["containers"]:
        for m in c.get("volumeMounts", []):
            v = volumes.get(m["name"])
            if v is None:
                sys.exit(f"kube-adapt: volumeMount {m['name']} has no volume")
            # 3.
            if "subPath" in m:
                if v.get("configMap", {}).get("name") != cm_name:
                    sys.exit(f"kube-adapt: subPath on {m['name']}, which is not the ConfigMap {cm_name}")
                key = m.pop("subPath")
                path = os.path.join(work, "config", key)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(cm["data"][key])
                os.chmod(path, 0o644)
                name = f"{m['name']}-{key}".replace(".", "-").replace("_", "-")
                m["name"] = name
                volumes[name] = {"name": name, "hostPath": {"path": path, "type": "File"}}
            # 4.
            elif "secret" in v or "projected" in v:
                sub = "certs" if "secret" in v else "secrets"
                volumes[m["name"]] = {
                    "name": m["name"],
                    "hostPath": {"path": os.path.join(work, sub), "type": "Directory"},
                }
        # 5.
        for kind in ("startupProbe", "readinessProbe"):
            if kind in c:
                probes[kind] = c.pop(kind)["exec"]["command"]
        if "livenessProbe" in c:
            probes["livenessProbe"] = c["livenessProbe"]["exec"]["command"]
    used = {m["name"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
    spec["volumes"] = [v for n, v in volumes.items() if n in used]
    yaml.safe_dump(pod, sys.stdout, sort_keys=False)
    print(json.dumps(probes), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
