"""Checks the definition.yaml / resources.yaml pair a plugin binary's `apigw definition DIR` writes.

    python check_apigw_yaml.py DIR [--sub-path]

Three checks, each done by the real code where it exists (requirements.txt pins the versions):

1. apigw-manager's own loader reads both files (`Definition.load_from`, a Django template render
   then YAML): what its sync commands consume. Each command's namespace has the shape the
   command and the management API need (stages with backends, grants, release version).
2. resources.yaml passes the gateway's schema validation: openapi-spec-validator 0.7.2 with the
   gateway's Draft-4 OpenAPI 3.0 schema (apigw_openapi_3.0_schema.json, copied from
   TencentBlueKing/blueking-apigateway src/dashboard/apigateway/apigateway/biz/openapi/schemas/
   at 048bdd7, MIT), set up as the gateway's biz/openapi/schema.py does (its operation
   validator skips path parameters), then the logical rules of its biz/openapi/validate.py that
   do not need its database: unique method+path, ANY alone on a path, unique names (also
   camel/snake collisions), front and backend matchSubpath equal, backend names among the
   stage's backends, no resource plugin types.
3. Each resource equals the Python framework's (python_resources.yaml, its
   support-files/resources.yaml rendered with the same sub-path setting): method, front path
   and the whole `x-bk-apigateway-resource`, for all seven resources (a kit binary serves them all).

`--sub-path`: the files were written for an app with a sub-path (backend paths start with
`{env.api_sub_path}`). Exits 1 on the first failed check.
"""

import os
import re
import sys
from functools import partial

import django
from django.conf import settings

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    print(f"check_apigw_yaml: {message}", file=sys.stderr)
    sys.exit(1)


def load_with_apigw_manager(path, sub_path):
    from apigw_manager.apigw.helper import Definition

    context = {"settings": settings, "environ": os.environ, "data": {}}
    return Definition.load_from(path, context)


def check_definition(definition):
    loaded = definition.loaded
    if str(loaded.get("spec_version")) != "2":
        fail(f"definition.yaml: spec_version {loaded.get('spec_version')!r}, expected 2")
    gateway = definition.get("apigateway")
    for key in ("description", "is_public", "api_type", "maintainers"):
        if key not in gateway:
            fail(f"definition.yaml: apigateway.{key} missing")
    if gateway["api_type"] not in (1, 10) or not isinstance(gateway["is_public"], bool):
        fail(f"definition.yaml: apigateway {gateway}")
    stages = definition.get("stages")
    if not isinstance(stages, list) or len(stages) != 1:
        fail(f"definition.yaml: stages must be one stage, is {stages!r}")
    stage = stages[0]
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9_-]{0,19}$", stage["name"]):
        fail(f"definition.yaml: stage name {stage['name']!r}")
    backends = stage.get("backends")
    if not backends:
        fail("definition.yaml: the stage has no backends (the gateway answers 'backends 必须配置')")
    for b in backends:
        config = b["config"]
        if not 1 <= config["timeout"] <= 600 or config["loadbalance"] not in ("roundrobin", "weighted-roundrobin"):
            fail(f"definition.yaml: backend {b}")
        for h in config["hosts"]:
            if not re.match(r"^https?://", h["host"]):
                fail(f"definition.yaml: backend host {h['host']!r} must start with http(s)://")
    if not all(isinstance(v, str) for v in stage["vars"].values()):
        fail(f"definition.yaml: stage vars must be strings: {stage['vars']}")
    grants = definition.get("grant_permissions")
    if not grants or any(g.get("grant_dimension") != "gateway" or not g.get("bk_app_code") for g in grants):
        fail(f"definition.yaml: grant_permissions {grants!r}")
    release = definition.get("release")
    if not release.get("version"):
        fail("definition.yaml: release.version missing")
    from packaging.version import Version

    Version(release["version"])  # apigw-manager parses it (parse_version)
    return [b["name"] for b in backends], stage["vars"]


def schema_errors(doc):
    """The gateway's schema validation (biz/openapi/schema.py + openapi.py), verbatim in effect."""
    from jsonschema.validators import Draft4Validator
    from jsonschema_path.readers import FilePathReader
    from lazy_object_proxy import Proxy
    from openapi_spec_validator import versions
    from openapi_spec_validator.shortcuts import SPEC2VALIDATOR
    from openapi_spec_validator.validation import openapi_v30_spec_validator
    from openapi_spec_validator.validation.exceptions import DuplicateOperationIDError, UnresolvableParameterError
    from openapi_spec_validator.validation.keywords import OperationValidator

    class ApigwOperationValidator(OperationValidator):
        def __call__(self, url, name, operation, path_parameters):
            operation_id = operation.getkey("operationId")
            if operation_id is not None and operation_id in self.operation_ids_registry:
                yield DuplicateOperationIDError(f"Operation ID '{operation_id}' for '{name}' in '{url}' is not unique")
            self.operation_ids_registry.append(operation_id)
            if "responses" in operation:
                yield from self.responses_validator(operation / "responses")
            if "parameters" in operation:
                yield from self.parameters_validator(operation / "parameters")

    def content():
        schema, _ = FilePathReader(os.path.join(HERE, "apigw_openapi_3.0_schema.json")).read()
        return schema

    SPEC2VALIDATOR[versions.OPENAPIV30].schema_validator = Proxy(partial(Draft4Validator, Proxy(content)))
    SPEC2VALIDATOR[versions.OPENAPIV30].keyword_validators["operation"] = ApigwOperationValidator
    if versions.get_spec_version(doc) != versions.OPENAPIV30:
        fail(f"resources.yaml: not OpenAPI 3.0: {doc.get('openapi')!r}")
    return [
        f"{err.json_path}: {err.message}"
        for err in openapi_v30_spec_validator.cls(doc).iter_errors()
        if not isinstance(err, UnresolvableParameterError)
    ]


def to_lower_dash_case(name):
    # apigateway.utils.shortcuts.to_lower_dash_case
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("-", "_")


def resources_of(doc):
    """(name, method, path, x-bk-apigateway-resource) per operation, as the gateway's parser."""
    out = []
    for path, item in doc["paths"].items():
        for key, op in item.items():
            method = "ANY" if key == "x-bk-apigateway-method-any" else key.upper()
            out.append((op["operationId"], method, path, op.get("x-bk-apigateway-resource", {})))
    return out


def check_logic(doc, backend_names):
    errors = []
    keys, names = set(), set()
    methods_by_path = {}
    for name, method, path, res in resources_of(doc):
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9_-]{0,255}$", name):
            errors.append(f"operationId {name!r}")
        if (method, path) in keys:
            errors.append(f"duplicate method+path {method} {path}")
        keys.add((method, path))
        methods_by_path.setdefault(path, []).append(method)
        lower = to_lower_dash_case(name)
        if name in names or lower in names:
            errors.append(f"duplicate resource name {name}")
        names.update((name, lower))
        backend = res.get("backend", {})
        if res.get("matchSubpath", False) != backend.get("matchSubpath", False):
            errors.append(f"{name}: front matchSubpath != backend matchSubpath")
        if backend.get("name", "default") not in backend_names:
            errors.append(f"{name}: backend {backend.get('name')!r} is not a stage backend {backend_names}")
        if res.get("pluginConfigs"):
            errors.append(f"{name}: resource plugin configs {res['pluginConfigs']} (none expected)")
    for path, methods in methods_by_path.items():
        if "ANY" in methods and len(methods) > 1:
            errors.append(f"{path}: ANY together with {methods}")
    return errors


def check_parity(doc, sub_path):
    """Every resource equals the Python framework's of the same operationId."""
    from django.template import Context, Template
    import yaml

    with open(os.path.join(HERE, "python_resources.yaml"), encoding="utf-8") as f:
        template = Template(f.read())
    settings.BK_PLUGIN_APIGW_BACKEND_SUB_PATH = "x" if sub_path else ""
    python = yaml.safe_load(template.render(Context({"settings": settings}, autoescape=False)))
    theirs = {name: (method, path, res) for name, method, path, res in resources_of(python)}
    ours = {name: (method, path, res) for name, method, path, res in resources_of(doc)}
    served = {"callback", "invoke", "schedule", "plugin_api", "plugin_openapi", "plugin_private", "plugin_api_dispatch"}
    if set(ours) != served or set(theirs) != served:
        fail(f"resources.yaml: resources {sorted(ours)}, expected {sorted(served)} (the Python framework's: {sorted(theirs)})")
    for name in sorted(served):
        if ours[name] != theirs[name]:
            fail(f"resources.yaml: {name} differs from the Python framework's:\n  ours:   {ours[name]}\n  theirs: {theirs[name]}")
    return sorted(served)


def main():
    directory = sys.argv[1]
    sub_path = "--sub-path" in sys.argv[2:]
    settings.configure(
        INSTALLED_APPS=["apigw_manager.apigw"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        USE_TZ=True,
    )
    django.setup()

    definition = load_with_apigw_manager(os.path.join(directory, "definition.yaml"), sub_path)
    backend_names, stage_vars = check_definition(definition)
    if sub_path != ("api_sub_path" in stage_vars):
        fail(f"definition.yaml: stage vars {stage_vars} for sub_path={sub_path}")
    resources = load_with_apigw_manager(os.path.join(directory, "resources.yaml"), sub_path).loaded
    print(f"apigw-manager loaded definition.yaml (stage backends {backend_names}) and resources.yaml")

    errors = schema_errors(resources)
    if errors:
        fail("resources.yaml fails the gateway's schema validation:\n  " + "\n  ".join(errors))
    errors = check_logic(resources, backend_names)
    if errors:
        fail("resources.yaml fails the gateway's import rules:\n  " + "\n  ".join(errors))
    print(f"resources.yaml passes the gateway's schema and import rules ({len(resources_of(resources))} resources)")
    compared = check_parity(resources, sub_path)
    print(f"every resource equals the Python framework's ({', '.join(compared)})")


if __name__ == "__main__":
    main()
