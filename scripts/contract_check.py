"""Checks the job contract's generated documents; run through scripts/contract-tools.sh.

    contract_check.py asyncapi SCHEMA DOCUMENT...
        Validates each DOCUMENT against the official AsyncAPI 3.0.0 JSON Schema SCHEMA (draft-07), then
        the rules of the AsyncAPI 3.0.0 specification that its JSON Schema leaves out:
        - every Reference Object ($ref) inside the document resolves;
        - an operation's messages are references to messages of the operation's own channel;
        - every message payload and headers schema is a valid JSON Schema, draft-07 (what AsyncAPI
          Schema Objects extend) and draft 2020-12 alike, and its patterns are valid ECMA-262;
        - every message example validates against the message's payload and headers schemas.
        Prints each problem, then `asyncapi: DOCUMENT ...` with the verdict; exits 1 when a document
        has a problem.

    contract_check.py batch IN OUT
        IN: {"schemas": {NAME: SCHEMA}, "cases": [[NAME, INSTANCE], ...]}. Writes to OUT one entry per
        case, [valid under draft 2020-12, valid under draft-07, first error or null].

Patterns are matched as ECMA-262 regular expressions (the `regress` engine, `u` flag), as JSON Schema
specifies: jsonschema's default, Python's `re`, lets `$` match before a final line feed.
"""

import json
import sys

import jsonschema
import regress
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError

_compiled = {}


def _ecma(pattern, strict=False):
    """The pattern compiled with the `u` flag, as ajv (AsyncAPI's own tooling) compiles it; one that is
    not valid in that mode falls back to the plain mode, unless `strict`."""
    regex = _compiled.get(pattern)
    if regex is None:
        try:
            regex = regress.Regex(pattern, "u")
        except Exception:
            if strict:
                raise
            regex = regress.Regex(pattern)
        _compiled[pattern] = regex
    return regex


def _pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    try:
        regex = _ecma(pattern)
    except Exception as error:  # regress raises its own error type
        yield ValidationError(f"pattern {pattern!r} is not an ECMA-262 regular expression: {error}")
        return
    if regex.find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _ecma(pattern).find(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _ecma_validator(base):
    return jsonschema.validators.extend(base, {"pattern": _pattern, "patternProperties": _pattern_properties})


Ecma202012 = _ecma_validator(Draft202012Validator)
Ecma7 = _ecma_validator(Draft7Validator)


def _patterns(schema):
    """Every `pattern` and `patternProperties` key in a schema."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from value.keys()
                for subschema in value.values():
                    yield from _patterns(subschema)
            elif key not in ("enum", "const", "examples", "default"):
                yield from _patterns(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _patterns(item)


def _pointer(document, ref):
    if not ref.startswith("#/"):
        raise KeyError(f"{ref}: only references inside the document are expected")
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node


def _references(node, path="#"):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield path, node["$ref"]
        for key, value in node.items():
            yield from _references(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _references(value, f"{path}/{index}")


def _resolved(document, node):
    while isinstance(node, dict) and set(node) == {"$ref"}:
        node = _pointer(document, node["$ref"])
    return node


def check_asyncapi(schema, document_path):
    with open(document_path, encoding="utf-8") as file:
        document = json.load(file)
    problems = []

    validator = Ecma7(schema)
    for error in sorted(validator.iter_errors(document), key=lambda e: [str(part) for part in e.absolute_path]):
        # A oneOf/anyOf failure says only that no branch fits: name the deepest error of its branches.
        detail = error
        while detail.context:
            detail = max(detail.context, key=lambda e: (len(e.absolute_path), e.validator != "required"))
        location = "/".join(str(part) for part in detail.absolute_path) or "(root)"
        problems.append(f"AsyncAPI 3.0.0 schema: at {location}: {detail.message[:300]}")

    for path, ref in _references(document):
        try:
            _pointer(document, ref)
        except (KeyError, IndexError, ValueError, TypeError):
            problems.append(f"{path}: $ref {ref} does not resolve")

    for name, operation in (document.get("operations") or {}).items():
        channel_ref = (operation.get("channel") or {}).get("$ref", "")
        for message in operation.get("messages") or []:
            ref = message.get("$ref", "")
            if not ref.startswith(channel_ref + "/messages/"):
                problems.append(f"operations/{name}: message {ref} is not a message of its channel {channel_ref}")

    messages = (document.get("components") or {}).get("messages") or {}
    for name, message in messages.items():
        for part in ("payload", "headers"):
            if part not in message:
                continue
            try:
                subschema = _resolved(document, message[part])
            except (KeyError, IndexError, ValueError, TypeError):
                continue  # reported above
            found = len(problems)
            for dialect in (Draft7Validator, Draft202012Validator):
                try:
                    dialect.check_schema(subschema)
                except jsonschema.exceptions.SchemaError as error:
                    problems.append(
                        f"components/messages/{name}/{part}: not a valid {dialect.__name__} schema: {error.message}"
                    )
            for pattern in _patterns(subschema):
                try:
                    _ecma(pattern, strict=True)
                except Exception as error:  # regress raises its own error type
                    problems.append(f"components/messages/{name}/{part}: pattern {pattern!r} is not ECMA-262: {error}")
            if len(problems) > found:
                continue  # the examples cannot be checked against a broken schema
            for index, example in enumerate(message.get("examples") or []):
                if part not in example:
                    continue
                for dialect in (Ecma7, Ecma202012):
                    for error in dialect(subschema).iter_errors(example[part]):
                        problems.append(
                            f"components/messages/{name}/examples/{index}/{part}: {error.message[:300]} "
                            f"({dialect.__name__})"
                        )

    for problem in problems:
        print(problem)
    if problems:
        print(f"asyncapi: {document_path}: {len(problems)} problems")
        return 1
    print(
        f"asyncapi: {document_path} is a valid AsyncAPI 3.0.0 document "
        f"({len(document.get('channels', {}))} channels, {len(document.get('operations', {}))} operations, "
        f"{len(messages)} messages)"
    )
    return 0


def check_batch(in_path, out_path):
    with open(in_path, encoding="utf-8") as file:
        batch = json.load(file)
    validators = {}
    for name, schema in batch["schemas"].items():
        Draft202012Validator.check_schema(schema)
        Draft7Validator.check_schema(schema)
        validators[name] = (Ecma202012(schema), Ecma7(schema))
    results = []
    for name, instance in batch["cases"]:
        new, old = validators[name]
        error = next(new.iter_errors(instance), None)
        results.append([error is None, old.is_valid(instance), None if error is None else error.message[:200]])
    with open(out_path, "w", encoding="utf-8") as file:
        json.dump(results, file, ensure_ascii=False)
    return 0


def main(arguments):
    if len(arguments) >= 3 and arguments[0] == "asyncapi":
        with open(arguments[1], encoding="utf-8") as file:
            schema = json.load(file)
        return max(check_asyncapi(schema, document) for document in arguments[2:])
    if len(arguments) == 3 and arguments[0] == "batch":
        return check_batch(arguments[1], arguments[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
