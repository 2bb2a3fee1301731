"""Checks an app_desc.yaml against the rules BK PaaS enforces for a specVersion 3 app.

    python check_app_desc.py path/to/app_desc.yaml [BINARY]

The rules are those of blueking-paas's apiserver (platform/declarative/handlers.py,
deployment/validations/v3.py, application/validations/v3.py,
platform/bkapp_model/serializers/v1alpha2.py, utils/validators.py), as recorded in the project's
notes on BK PaaS (section "app_desc.yaml"). With BINARY, it also checks what the plugin needs:
the web process runs /app/BINARY, the preRelease hook runs `/app/BINARY apigw sync`, readiness
on /bk_plugin/meta/, /metrics declared for monitoring. Needs PyYAML. Exits 1 listing every
violation.
"""

import re
import shlex
import sys

import yaml

LANGUAGES = {"python", "php", "go", "nodejs", "java"}
PROC_NAME = re.compile(r"^[a-z0-9]([-a-z0-9])*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
PROTECTED_ENV = {"SLUG_URL", "HOME", "S3CMD_CONF", "HOSTNAME"}
PROTECTED_PREFIXES = ("BKPAAS_", "KUBERNETES_")
PROBE_KEYS = {"exec", "httpGet", "tcpSocket"}
PROBE_NUMBERS = {
    "initialDelaySeconds": 0,
    "timeoutSeconds": 1,
    "periodSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 1,
}

errors = []


def err(where, message):
    errors.append(f"{where}: {message}")


def is_port(value, allow_placeholder):
    if allow_placeholder and value == "${PORT}":
        return True
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def check_command(where, spec):
    """`procCommand` (a string) or `command`/`args` (lists of strings); returns argv."""
    if "procCommand" in spec:
        if not isinstance(spec["procCommand"], str) or not spec["procCommand"].strip():
            err(where, "procCommand must be a non-empty string")
            return []
        return shlex.split(spec["procCommand"])
    command, args = spec.get("command"), spec.get("args", [])
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        err(where, "needs procCommand, or command as a list of strings")
        return []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        err(where, "args must be a list of strings")
        return command
    return command + args


def check_probe(where, probe):
    if not isinstance(probe, dict):
        err(where, "must be a mapping")
        return
    kinds = [k for k in PROBE_KEYS if k in probe]
    if len(kinds) != 1:
        err(where, f"needs exactly one of {sorted(PROBE_KEYS)}, has {kinds}")
        return
    kind = kinds[0]
    handler = probe[kind]
    if kind == "exec":
        cmd = handler.get("command") if isinstance(handler, dict) else None
        if not isinstance(cmd, list) or len(cmd) > 12 or any(len(str(c)) > 48 for c in cmd):
            err(where, "exec.command: a list of at most 12 items of at most 48 characters")
    else:
        if not isinstance(handler, dict) or not is_port(handler.get("port"), True):
            err(where, f"{kind}.port must be 1..65535 or ${{PORT}}")
        if kind == "httpGet":
            path = handler.get("path", "")
            if not isinstance(path, str) or not path.startswith("/") or len(path) > 128:
                err(where, "httpGet.path must start with / and have at most 128 characters")
            if handler.get("scheme", "HTTP") != "HTTP":
                err(where, "httpGet.scheme must be HTTP")
    for key, minimum in PROBE_NUMBERS.items():
        if key in probe and (not isinstance(probe[key], int) or probe[key] < minimum):
            err(where, f"{key} must be an integer >= {minimum}")


def check_process(where, proc, exposed):
    name = proc.get("name")
    if not isinstance(name, str) or not PROC_NAME.match(name) or len(name) > 12:
        err(where, f"name {name!r}: ^[a-z0-9]([-a-z0-9])*$, at most 12 characters")
    argv = check_command(where, proc)
    if "replicas" in proc and (not isinstance(proc["replicas"], int) or proc["replicas"] < 0):
        err(where, "replicas must be an integer >= 0")
    grace = proc.get("gracefulShutdownSeconds")
    if grace is not None and (not isinstance(grace, int) or grace < 0):
        err(where, "gracefulShutdownSeconds must be an integer >= 0")
    seen = {"name": set(), "targetPort": set(), "port": set()}
    for i, svc in enumerate(proc.get("services") or []):
        w = f"{where}.services[{i}]"
        sname = svc.get("name")
        if not isinstance(sname, str) or not DNS_LABEL.match(sname) or len(sname) > 63:
            err(w, f"name {sname!r} is not a DNS label of at most 63 characters")
        if not is_port(svc.get("targetPort"), True):
            err(w, "targetPort must be 1..65535 or ${PORT}")
        if "port" in svc and not is_port(svc["port"], False):
            err(w, "port must be 1..65535")
        if svc.get("protocol", "TCP") not in ("TCP", "UDP"):
            err(w, "protocol must be TCP or UDP")
        for key in seen:
            if key in svc:
                if svc[key] in seen[key]:
                    err(w, f"duplicate {key} {svc[key]!r}")
                seen[key].add(svc[key])
        if "exposedType" in svc:
            if (svc["exposedType"] or {}).get("name") not in ("bk/http", "bk/grpc"):
                err(w, "exposedType.name must be bk/http or bk/grpc")
            exposed.append(w)
    for kind, probe in (proc.get("probes") or {}).items():
        if kind not in ("liveness", "readiness", "startup"):
            err(f"{where}.probes", f"unknown probe {kind!r}")
        else:
            check_probe(f"{where}.probes.{kind}", probe)
    return argv


def check_env(where, env):
    for i, item in enumerate(env or []):
        w = f"{where}[{i}]"
        name = item.get("name")
        if not isinstance(name, str) or not ENV_NAME.match(name):
            err(w, f"name {name!r} must match ^[A-Z][A-Z0-9_]*$")
        elif name in PROTECTED_ENV or name.startswith(PROTECTED_PREFIXES):
            err(w, f"{name} is reserved by BK PaaS")
        if not isinstance(item.get("value"), str):
            err(w, "value must be a string")
        if len(str(item.get("description", ""))) > 200:
            err(w, "description: at most 200 characters")


def check(doc, binary):
    if not isinstance(doc, dict):
        err("app_desc", "not a mapping")
        return
    version = doc.get("specVersion", doc.get("spec_version"))
    if version != 3:
        err("specVersion", f"must be 3 for a cloud-native app, is {version!r}")
    modules = doc.get("modules")
    if modules is None and isinstance(doc.get("module"), dict):
        modules = [dict(doc["module"], isDefault=True)]
    if not isinstance(modules, list) or not modules:
        err("modules", "must be a non-empty list")
        return
    defaults = [m for m in modules if m.get("isDefault") is True]
    if len(defaults) != 1:
        err("modules", f"exactly one module needs isDefault: true, found {len(defaults)}")
    for mi, module in enumerate(modules):
        where = f"modules[{mi}]"
        if not isinstance(module.get("name"), str) or not module["name"]:
            err(where, "name is required")
        language = module.get("language")
        if not isinstance(language, str) or language.lower() not in LANGUAGES:
            err(where, f"{language!r} is not a supported language (Python, PHP, Go, NodeJS, Java)")
        spec = module.get("spec") or {}
        processes = spec.get("processes")
        if not isinstance(processes, list) or not processes:
            err(f"{where}.spec.processes", "must be a non-empty list")
            processes = []
        exposed = []
        argvs = {}
        for pi, proc in enumerate(processes):
            argvs[proc.get("name")] = check_process(f"{where}.spec.processes[{pi}]", proc, exposed)
        if len(exposed) > 1:
            err(where, f"at most one exposedType per module, found {exposed}")
        hooks = spec.get("hooks") or {}
        for hook in hooks:
            if hook != "preRelease":
                err(f"{where}.spec.hooks", f"unknown hook {hook!r} (only preRelease)")
        hook_argv = check_command(f"{where}.spec.hooks.preRelease", hooks["preRelease"]) if "preRelease" in hooks else None
        check_env(f"{where}.spec.configuration.env", (spec.get("configuration") or {}).get("env"))
        for ai, addon in enumerate(spec.get("addons") or []):
            if not isinstance(addon, dict) or not isinstance(addon.get("name"), str):
                err(f"{where}.spec.addons[{ai}]", "needs a name")
        metrics = ((spec.get("observability") or {}).get("monitoring") or {}).get("metrics") or []
        for i, m in enumerate(metrics):
            w = f"{where}.spec.observability.monitoring.metrics[{i}]"
            if m.get("process") not in argvs:
                err(w, f"process {m.get('process')!r} is not a process of the module")
            if not m.get("serviceName"):
                err(w, "serviceName is required")
        if binary:
            exe = f"/app/{binary}"
            if argvs.get("web") != [exe]:
                err(where, f"the web process must run {exe}, runs {argvs.get('web')}")
            if hook_argv != [exe, "apigw", "sync"]:
                err(where, f"the preRelease hook must run `{exe} apigw sync`, runs {hook_argv}")
            web = next((p for p in processes if p.get("name") == "web"), {})
            ready = ((web.get("probes") or {}).get("readiness") or {}).get("httpGet") or {}
            if ready.get("path") != "/bk_plugin/meta/" or ready.get("port") != "${PORT}":
                err(where, "web needs a readiness httpGet on ${PORT} /bk_plugin/meta/")
            if not any(m.get("process") == "web" and m.get("path", "/metrics") == "/metrics" for m in metrics):
                err(where, "web's /metrics is not declared in observability.monitoring.metrics")
            if not any(a.get("name") == "mysql" for a in spec.get("addons") or []):
                err(where, "the mysql add-on (the schedule store) is not declared")


def main():
    path = sys.argv[1]
    binary = sys.argv[2] if len(sys.argv) > 2 else None
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    check(doc, binary)
    if errors:
        for e in errors:
            print(f"{path}: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"{path}: passes the BK PaaS app_desc v3 rules")


if __name__ == "__main__":
    main()
