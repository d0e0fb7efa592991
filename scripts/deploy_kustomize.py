"""The smallest kustomize renderer for exactly what deploy/ uses, in Python (PyYAML only).

Why it exists: the PyPI package `kustomize` (0.6.0) only writes kustomization.yaml files from Python
objects; it renders nothing. Real kustomize is a Go binary that no registry reachable here ships, so
scripts/deploy-check.sh renders with this file and, where `kubectl` is installed (it bundles
kustomize), checks that `kubectl kustomize` renders the very same objects.

Supported kustomization fields, and nothing else (an unknown field is an error, not a silent skip):
- `resources`: YAML files (any number of documents) and folders holding a kustomization.yaml;
- `configMapGenerator`: `name`, `files` (`key=path` or `path`), `options.labels`; the name gets
  kustomize's content hash suffix, and references to it (pod volumes, projected volumes, envFrom,
  env valueFrom) are renamed;
- `namespace`: set on every object (all of ours are namespaced);
- `labels`: `pairs` added to each object's metadata.labels (includeSelectors/includeTemplates false);
- `images`: `name` -> `newName`, `newTag`, `digest` in every containers/initContainers image;
- `patches`: `path` or inline `patch`, with an optional `target` (group, version, kind, name as a
  regular expression, namespace, labelSelector `k=v,...`); a patch that is a YAML list is JSON 6902
  (add, remove, replace), otherwise a strategic merge patch (maps merge; the lists Kubernetes merges
  by key - containers, initContainers, volumes, env by name, volumeMounts by mountPath, ports by
  containerPort - merge item by item; other lists are replaced).
Order as in kustomize: resources and generators, then patches, namespace, labels, images.
"""

import copy
import hashlib
import json
import os
import re

import yaml

KNOWN_FIELDS = {
    "apiVersion", "kind", "resources", "configMapGenerator", "namespace", "labels", "images", "patches",
}
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}


class RenderError(Exception):
    pass


def render(directory):
    """Every object the kustomization in `directory` produces, in resource order."""
    objects, _ = _build(os.path.abspath(directory))
    return objects


def _build(directory):
    path = os.path.join(directory, "kustomization.yaml")
    if not os.path.isfile(path):
        raise RenderError(f"{directory}: no kustomization.yaml")
    with open(path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle) or {}
    unknown = set(spec) - KNOWN_FIELDS
    if unknown:
        raise RenderError(f"{path}: fields this renderer does not implement: {sorted(unknown)}")

    objects = []
    renamed = {}  # original ConfigMap name -> generated name with hash
    for resource in spec.get("resources", []):
        target = os.path.normpath(os.path.join(directory, resource))
        if os.path.isdir(target):
            child, child_renamed = _build(target)
            objects += child
            renamed.update(child_renamed)
        else:
            with open(target, encoding="utf-8") as handle:
                # A deep copy per document: YAML anchors must not make two objects share a part.
                objects += [copy.deepcopy(doc) for doc in yaml.safe_load_all(handle) if doc is not None]
    for generator in spec.get("configMapGenerator", []):
        config_map = _generate_config_map(directory, generator)
        renamed[generator["name"]] = config_map["metadata"]["name"]
        objects.append(config_map)
    for obj in objects:
        _rename_config_map_references(obj, renamed)

    for patch in spec.get("patches", []):
        _apply_patch(directory, patch, objects)
    if "namespace" in spec:
        for obj in objects:
            obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    for label_set in spec.get("labels", []):
        if label_set.get("includeSelectors") or label_set.get("includeTemplates"):
            raise RenderError(f"{path}: labels with includeSelectors/includeTemplates are not implemented")
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(label_set["pairs"])
    for image in spec.get("images", []):
        for obj in objects:
            _set_images(obj, image)
    return objects, renamed


def _generate_config_map(directory, generator):
    unknown = set(generator) - {"name", "files", "options"}
    if unknown or set(generator.get("options", {})) - {"labels"}:
        raise RenderError(f"configMapGenerator {generator.get('name')}: unsupported fields")
    data = {}
    for entry in generator.get("files", []):
        key, _, file = entry.partition("=") if "=" in entry else (os.path.basename(entry), "", entry)
        with open(os.path.join(directory, file), encoding="utf-8") as handle:
            data[key] = handle.read()
    name = generator["name"]
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    labels = generator.get("options", {}).get("labels")
    if labels:
        config_map["metadata"]["labels"] = dict(labels)
    config_map["metadata"]["name"] = f"{name}-{content_hash(name, data)}"
    return config_map


def content_hash(name, data):
    """kustomize's ConfigMap suffix: sha256 of the Go JSON encoding of {data, kind, name}, first 10 hex
    digits with 0,1,3,a,e replaced (so the suffix never reads as a number or a word). kustomize 5
    hashes with an empty `name` (checked against `kubectl kustomize`, kustomize v5.5.0)."""
    del name
    encoded = json.dumps({"data": data, "kind": "ConfigMap", "name": ""}, sort_keys=True,
                         separators=(",", ":"), ensure_ascii=False)
    # Go's encoding/json escapes these for HTML safety; the hash is over its bytes.
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        encoded = encoded.replace(raw, escaped)
    digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:10]
    return digest.translate(str.maketrans({"0": "g", "1": "h", "3": "k", "a": "m", "e": "t"}))


def _rename_config_map_references(node, renamed):
    if isinstance(node, dict):
        for key in ("configMap", "configMapRef", "configMapKeyRef"):
            ref = node.get(key)
            if isinstance(ref, dict) and ref.get("name") in renamed:
                ref["name"] = renamed[ref["name"]]
        for value in node.values():
            _rename_config_map_references(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rename_config_map_references(value, renamed)


def _apply_patch(directory, patch, objects):
    if "path" in patch:
        with open(os.path.join(directory, patch["path"]), encoding="utf-8") as handle:
            body = yaml.safe_load(handle)
    else:
        body = yaml.safe_load(patch["patch"])
    target = patch.get("target")
    if target is None:
        if isinstance(body, list):
            raise RenderError("a JSON 6902 patch needs a target")
        target = {"kind": body["kind"], "name": "^" + re.escape(body["metadata"]["name"]) + "$"}
    matched = [obj for obj in objects if _matches(obj, target)]
    if not matched:
        raise RenderError(f"patch target {target} matches no object")
    for obj in matched:
        if isinstance(body, list):
            _json6902(obj, body)
        else:
            patched = strategic_merge(obj, {k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata")})
            obj.clear()
            obj.update(patched)


def _matches(obj, target):
    group, _, version = obj.get("apiVersion", "").rpartition("/")
    metadata = obj.get("metadata", {})
    if "kind" in target and target["kind"] != obj.get("kind"):
        return False
    if "group" in target and target["group"] != group:
        return False
    if "version" in target and target["version"] != version:
        return False
    if "name" in target and not re.fullmatch(target["name"], metadata.get("name", "")):
        return False
    if "namespace" in target and target["namespace"] != metadata.get("namespace"):
        return False
    if "labelSelector" in target:
        labels = metadata.get("labels", {})
        for term in target["labelSelector"].split(","):
            key, _, value = term.partition("=")
            if labels.get(key.strip()) != value.strip():
                return False
    return True


def strategic_merge(dest, patch, field=None):
    if isinstance(dest, dict) and isinstance(patch, dict):
        merged = dict(dest)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(dest, list) and isinstance(patch, list) and field in MERGE_KEYS:
        key = MERGE_KEYS[field]
        remaining = list(dest)
        merged = []
        # kustomize (kyaml merge2) lists the patch's items first, then the items only the object has.
        for item in patch:
            match = next((d for d in remaining if d.get(key) == item.get(key)), None)
            if match is not None:
                remaining.remove(match)
                merged.append(strategic_merge(match, item, None))
            else:
                merged.append(copy.deepcopy(item))
        return merged + remaining
    return copy.deepcopy(patch)


def _json6902(obj, operations):
    for operation in operations:
        op, pointer = operation["op"], operation["path"]
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        parent = obj
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op == "add":
                parent.insert(index, copy.deepcopy(operation["value"]))
            elif op == "replace":
                parent[index] = copy.deepcopy(operation["value"])
            elif op == "remove":
                del parent[index]
            else:
                raise RenderError(f"JSON patch op {op} is not implemented")
        else:
            if op in ("replace", "remove") and last not in parent:
                raise RenderError(f"JSON patch {op} {pointer}: no such member")
            if op in ("add", "replace"):
                parent[last] = copy.deepcopy(operation["value"])
            elif op == "remove":
                del parent[last]
            else:
                raise RenderError(f"JSON patch op {op} is not implemented")


def _set_images(node, image):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    _set_image(container, image)
            else:
                _set_images(value, image)
    elif isinstance(node, list):
        for value in node:
            _set_images(value, image)


def _set_image(container, image):
    current = container.get("image")
    if not isinstance(current, str):
        return
    name = re.split(r"[@]", current)[0]
    name = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    if name != image["name"]:
        return
    tag = current[len(name):]
    new_name = image.get("newName", name)
    if "digest" in image:
        container["image"] = f"{new_name}@{image['digest']}"
    elif "newTag" in image:
        container["image"] = f"{new_name}:{image['newTag']}"
    else:
        container["image"] = new_name + tag
