"""Render a kustomization in Python: the part of kustomize that deploy/kubernetes uses.

``resources`` (files and directories with their own kustomization), ``namespace``,
``images`` (newName, newTag), ``replicas`` and ``patches`` given as JSON 6902
operations for a target kind and name. Any other field is refused, so an overlay that
grows past this subset fails here instead of being validated wrongly. Where a
kustomize binary (or ``kubectl kustomize``) exists, the tests check that both render
the same objects.
"""

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"}
WORKLOADS = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "PriorityClass",
    "StorageClass",
}


class Unsupported(Exception):
    """The kustomization uses something this renderer does not do."""


def load_documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def render(directory: Path) -> list[Manifest]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise Unsupported(f"{directory}: {', '.join(sorted(unknown))}")
    objects: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        objects.extend(render(path) if path.is_dir() else load_documents(path))
    for patch in kustomization.get("patches", []):
        _patch(objects, patch)
    if "namespace" in kustomization:
        for each in objects:
            if each["kind"] not in CLUSTER_SCOPED:
                each["metadata"]["namespace"] = kustomization["namespace"]
    for change in kustomization.get("replicas", []):
        targets = [
            o for o in objects if o["kind"] in WORKLOADS and o["metadata"]["name"] == change["name"]
        ]
        if not targets:
            raise Unsupported(f"replicas: nothing is named {change['name']}")
        for each in targets:
            each["spec"]["replicas"] = change["count"]
    for image in kustomization.get("images", []):
        for each in objects:
            _set_image(each, image)
    return objects


def kustomize_binary() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render_with_binary(command: list[str], directory: Path) -> list[Manifest]:
    done = subprocess.run(
        [*command, str(directory)], capture_output=True, text=True, timeout=60, check=True
    )
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc is not None]


def _patch(objects: list[Manifest], patch: dict[str, Any]) -> None:
    target = patch["target"]
    if set(target) - {"kind", "name"} or set(patch) - {"target", "patch"}:
        raise Unsupported(f"patch {patch}: only a target kind and name, and JSON 6902 ops")
    matched = [
        o
        for o in objects
        if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]
    ]
    if not matched:
        raise Unsupported(f"patch target {target} matches nothing")
    for operation in yaml.safe_load(patch["patch"]):
        for each in matched:
            _apply(each, operation)


def _apply(document: Manifest, operation: dict[str, Any]) -> None:
    op = operation["op"]
    if op not in ("add", "remove", "replace"):
        raise Unsupported(f"JSON 6902 op {op}")
    *parents, last = [
        part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]
    ]
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(node, list):
        if op == "add":
            node.insert(len(node) if last == "-" else int(last), value)
        elif op == "remove":
            del node[int(last)]
        else:
            node[int(last)] = value
    elif op == "remove":
        del node[last]
    elif op == "replace" and last not in node:
        raise Unsupported(f"replace of missing {operation['path']}")
    else:
        node[last] = value


def _set_image(node: Any, image: dict[str, str]) -> None:
    if isinstance(node, list):
        for item in node:
            _set_image(item, image)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("containers", "initContainers") and isinstance(value, list):
            for container in value:
                name, _, tag = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = (
                        f"{image.get('newName', name)}:{image.get('newTag', tag or 'latest')}"
                    )
        else:
            _set_image(value, image)
