#!/usr/bin/env python3
"""Calls a running plugin server the way BlueKing SOPS does (protocol.md §9).

The client below follows bk-sops `plugin_service/plugin_client.py` (URLs built with
`os.path.join`, `json_response_decoder`, `data_parser`) and the steps of
`pipeline_plugins/components/collections/remote_plugin/v1_0_0.py` (detail, context keys picked
from `context_inputs.properties`, `plugin_callback_info` when `enable_plugin_callback`, invoke,
schedule). Written for the example server (examples/sops-exec: 1.0.0 POLL then SUCCESS,
1.1.0 CALLBACK, 0.9.0 deprecated: not in meta, still served to a node pinned to it).
Standard library only.

    sops_caller.py APP_URL [--server-log FILE] [--server-err FILE] [--secret S]...

APP_URL is the plugin's direct address, e.g. http://127.0.0.1:8000 (SOPS gets it from PaaS).
--server-log: the server's stdout (JSON log lines), checked for the invocation's trace_id.
Exits 1 if any scenario fails.
"""

import argparse
import http.server
import json
import posixpath
import queue
import re
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

POLL, CALLBACK, SUCCESS, FAIL = 2, 3, 4, 5
SCHEMA_KEYS = {"type", "properties", "required", "definitions"}

# What a SOPS node's parent_data.inputs holds (pipeline_plugins/variables + task context);
# the component sends the keys the plugin's context_inputs declares.
PARENT_INPUTS = {
    "executor": "admin",
    "operator": "admin",
    "biz_cc_id": 2,
    "bk_biz_id": 2,
    "bk_biz_name": "blueking",
    "project_id": 1,
    "project_name": "blueking",
    "task_id": 301,
    "task_name": "caller-test",
    "task_start_time": "2026-11-24 10:00:00",
    "language": "zh-cn",
}


def node_inputs(version, **extra):
    """The node's inputs as SOPS sends them: the form fields plus plugin_code/plugin_version."""
    inputs = {
        "plugin_code": "sops-exec",
        "plugin_version": version,
        "template_id": 7,
        "task_name": "deploy-%s" % version,
        "options": {"name": "env", "value": "prod"},
    }
    inputs.update(extra)
    return inputs


class Failure(AssertionError):
    pass


def check(cond, what, got=None):
    if not cond:
        raise Failure(what if got is None else "%s; got %r" % (what, got))


# --- the SOPS client -------------------------------------------------------------------------


def http_request(method, url, body=None, headers=None):
    """(status, bytes). Non-2xx statuses are returned, not raised (as python-requests)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def json_response_decoder(name, status, body):
    """bk-sops client_decorators.json_response_decoder: any status but 200 is a failure."""
    if status != 200:
        return {
            "result": False,
            "data": None,
            "message": "%s gets error status code [%d], response content: %r" % (name, status, body[:200]),
        }
    return json.loads(body)


def data_parser(result):
    """bk-sops client_decorators.data_parser: (ok, data) with trace_id copied into data."""
    if not result.get("result"):
        data = {"message": result.get("message")}
        if "trace_id" in result:
            data["trace_id"] = result["trace_id"]
        return False, data
    data = result.get("data")
    if "trace_id" in result and isinstance(data, dict):
        data["trace_id"] = result["trace_id"]
    return True, data


class PluginClient:
    """bk-sops PluginServiceApiClient, pointed at the plugin directly (no PaaS, no gateway)."""

    def __init__(self, app_url):
        self.plugin_host = posixpath.join(app_url, "bk_plugin/")
        # invoke goes through the gateway in SOPS; the gateway maps /{stage}/invoke/{v} to
        # /bk_plugin/invoke/{v} and turns this header into X-Bkapi-JWT (dev needs none).
        self.apigw_headers = {
            "X-Bkapi-Authorization": json.dumps({"bk_app_code": "bk_sops", "bk_app_secret": "x"}),
            "Content-Type": "application/json",
        }

    def get_meta(self):
        status, body = http_request("GET", posixpath.join(self.plugin_host, "meta"))
        return json_response_decoder("get_meta", status, body)

    def get_detail(self, version):
        status, body = http_request("GET", posixpath.join(self.plugin_host, "detail", version))
        return json_response_decoder("get_detail", status, body)

    def invoke(self, version, data):
        url = posixpath.join(self.plugin_host, "invoke", version)
        status, body = http_request("POST", url, json.dumps(data).encode(), self.apigw_headers)
        return data_parser(json_response_decoder("invoke", status, body))

    def get_schedule(self, trace_id):
        status, body = http_request("GET", posixpath.join(self.plugin_host, "schedule", trace_id))
        return data_parser(json_response_decoder("get_schedule", status, body))


# --- the caller's finish-callback endpoint (SOPS's node callback URL) --------------------------


class NotificationServer:
    """Records every POST and answers like SOPS's node_callback: 200 {"result": true, ...}."""

    def __init__(self):
        received = self.received = queue.Queue()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received.put((self.path, dict(self.headers.items()), body))
                reply = json.dumps({"result": True, "message": "success"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --- scenarios -------------------------------------------------------------------------------


def select_context(detail):
    """RemotePluginService.plugin_execute: context keys the plugin declares, plus the callback info."""
    return {k: PARENT_INPUTS[k] for k in detail["context_inputs"]["properties"] if k in PARENT_INPUTS}


def check_trimmed_schema(schema, what):
    check(isinstance(schema, dict), "%s is an object" % what, schema)
    check(set(schema) == SCHEMA_KEYS, "%s has exactly %s" % (what, sorted(SCHEMA_KEYS)), sorted(schema))
    check(schema["type"] == "object", "%s.type is object" % what, schema["type"])
    check(isinstance(schema["properties"], dict), "%s.properties is an object" % what)
    check(isinstance(schema["required"], list), "%s.required is a list" % what)
    check(isinstance(schema["definitions"], dict), "%s.definitions is an object" % what)


def scenario_meta(client, state):
    meta = client.get_meta()  # GET .../bk_plugin/meta, no trailing slash, as SOPS asks
    check(meta.get("result") is True, "meta result is true", meta)
    check("message" in meta, "meta has message")
    data = meta["data"]
    check(isinstance(data.get("code"), str) and data["code"], "meta data.code is a string", data.get("code"))
    check(isinstance(data.get("description"), str), "meta data.description is a string")
    versions = data.get("versions")
    check(isinstance(versions, list) and all(isinstance(v, str) for v in versions), "versions are strings", versions)
    check({"1.0.0", "1.1.0"} <= set(versions), "versions list 1.0.0 and 1.1.0", versions)
    # SOPS takes versions[-1] as the default version of a new node: the smallest one. The
    # deprecated 0.9.0 is older, but it is not offered to new nodes.
    check(versions[-1] == "1.0.0", "versions[-1] is the smallest version", versions)
    check(DEPRECATED not in versions, "meta does not list the deprecated %s" % DEPRECATED, versions)
    state["versions"] = versions


def scenario_detail(client, state):
    details = {}
    for version in state.get("versions") or ["1.0.0", "1.1.0"]:
        d = client.get_detail(version)
        check(d.get("result") is True, "detail %s result is true" % version, d)
        check("message" in d, "detail %s has message" % version)
        data = d["data"]
        check(data.get("version") == version, "detail %s data.version" % version, data.get("version"))
        check(isinstance(data.get("desc"), str), "detail %s desc is a string" % version)
        check(isinstance(data.get("enable_plugin_callback"), bool), "detail %s enable_plugin_callback is a bool" % version)
        for key in ("inputs", "outputs", "context_inputs"):
            check_trimmed_schema(data.get(key), "detail %s %s" % (version, key))
        for name, prop in data["outputs"]["properties"].items():
            check(isinstance(prop.get("title"), str), "output %s has a title" % name, prop)
            check(isinstance(prop.get("type"), str), "output %s has a type" % name, prop)
            check(isinstance(prop.get("description", ""), str), "output %s description is a string" % name, prop)
        forms = data.get("forms")
        check(isinstance(forms, dict) and "renderform" in forms, "detail %s has forms.renderform" % version, forms)
        check(forms["renderform"] is None or isinstance(forms["renderform"], str), "renderform is a string or null")
        details[version] = data
    poll, cb = details["1.0.0"], details["1.1.0"]
    check(poll["enable_plugin_callback"] is False, "1.0.0 does not ask for the finish callback")
    check(set(poll["context_inputs"]["properties"]) == {"biz_cc_id", "executor"}, "1.0.0 context keys",
          sorted(poll["context_inputs"]["properties"]))
    check(cb["enable_plugin_callback"] is True, "1.1.0 asks for the finish callback")
    check("plugin_callback_info" in cb["context_inputs"]["properties"], "1.1.0 declares plugin_callback_info")
    missing = client.get_detail("9.9.9")
    check(missing["result"] is False and "[404]" in missing["message"], "unknown version: SOPS sees a 404", missing)
    state["details"] = details


def need_detail(client, state, version):
    if version not in state.get("details", {}):
        d = client.get_detail(version)
        check(d.get("result") is True, "detail %s" % version, d)
        state.setdefault("details", {})[version] = d["data"]
    return state["details"][version]


def check_trace_id(data, what):
    check(re.fullmatch(r"[0-9a-f]{32}", data.get("trace_id") or ""), "%s carries a 32-hex trace_id" % what, data)


def scenario_poll(client, state):
    detail = need_detail(client, state, "1.0.0")
    context = select_context(detail)
    check(context == {"biz_cc_id": 2, "executor": "admin"}, "selected context", context)
    inputs = node_inputs("1.0.0")
    started = time.monotonic()
    ok, data = client.invoke("1.0.0", {"inputs": inputs, "context": context})
    check(ok, "invoke 1.0.0 ok", data)
    check_trace_id(data, "invoke")
    check(data["state"] == POLL, "invoke 1.0.0 answers POLL", data)
    check(data.get("err") is None, "invoke err is null", data)
    check(data.get("outputs") is None or isinstance(data["outputs"], dict), "invoke outputs is a dict or null", data)
    trace_id = data["trace_id"]
    state["poll_trace_id"] = trace_id

    # SOPS polls every 10 s; poll faster here. The plugin asked for a 5 s interval.
    seen, result = [], None
    deadline = started + 60
    while time.monotonic() < deadline:
        ok, result = client.get_schedule(trace_id)
        check(ok, "schedule %s ok" % trace_id, result)
        seen.append(result["state"])
        check(result["state"] in (POLL, SUCCESS), "schedule state is POLL or SUCCESS", result)
        if result["state"] == SUCCESS:
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    check(result and result["state"] == SUCCESS, "reached SUCCESS within 60 s (states seen %s)" % seen, result)
    check(seen[0] == POLL, "first schedule after invoke still POLL", seen)
    check(elapsed >= 4.5, "the poll round waited the 5 s interval (%.1f s)" % elapsed)
    # data_parser replaced data.trace_id with the polling request's own id, as in SOPS; the
    # raw answer carries the queried one.
    status, raw = http_request("GET", posixpath.join(client.plugin_host, "schedule", trace_id))
    check(status == 200, "schedule answers 200", status)
    raw = json.loads(raw)
    check(raw["data"]["trace_id"] == trace_id, "schedule data.trace_id is the invoke trace id", raw)
    check(raw["trace_id"] != trace_id, "schedule's top-level trace_id is the request's own", raw)
    check(result["outputs"] == {"task_id": 42, "task_url": inputs["task_name"]}, "outputs after the poll round", result)
    check(result["err"] == "", "err is empty on success", result)
    check(result.get("finish_at"), "finish_at is set", result)
    print("     1.0.0: POLL -> SUCCESS after %.1f s, %d schedule calls" % (elapsed, len(seen)))


def scenario_callback(client, state, notify):
    detail = need_detail(client, state, "1.1.0")
    context = select_context(detail)
    check(context == {"biz_cc_id": 2, "executor": "admin"}, "selected context", context)
    # SOPS sends data {}; a non-empty one shows the body is passed through unchanged.
    # SOPS's node callback URLs carry a token: it must never reach the plugin's logs.
    node_path = "/taskflow/api/nodes/callback/caller-test-node/?token=" + NODE_TOKEN
    finish = {"url": notify.base + node_path, "data": {"node_id": "n1", "version": "v1"}}
    context["plugin_callback_info"] = finish
    inputs = node_inputs("1.1.0")
    ok, data = client.invoke("1.1.0", {"inputs": inputs, "context": context})
    check(ok, "invoke 1.1.0 ok", data)
    check_trace_id(data, "invoke")
    check(data["state"] == CALLBACK, "invoke 1.1.0 answers CALLBACK", data)
    trace_id = data["trace_id"]
    callback_url = (data.get("outputs") or {}).get("callback_url")
    check(isinstance(callback_url, str), "outputs.callback_url is a string", data)
    # Gateway URL {host}/{stage}/callback/{token}/ (relative /dev/callback/<token>/ in dev);
    # the gateway maps it to the backend path /bk_plugin/callback/{token}/.
    m = re.fullmatch(r"(?:https?://[^/]+)?(?:/[^/]+)*/(\w+)/callback/([^/]+)/", callback_url)
    check(m, "callback_url has the shape .../{stage}/callback/{token}/", callback_url)
    check(m.group(1) == "dev", "stage is dev", callback_url)
    token = m.group(2)

    ok, sched = client.get_schedule(trace_id)
    check(ok and sched["state"] == CALLBACK, "schedule shows CALLBACK while waiting", sched)
    check(notify.received.empty(), "no finish notification before the callback")

    # The third party calls back.
    status, body = http_request(
        "POST",
        posixpath.join(client.plugin_host, "callback", token) + "/",
        json.dumps({"task_id": 77}).encode(),
        {"Content-Type": "application/json"},
    )
    check(status == 200, "callback answers 200", (status, body))
    check(json.loads(body) == {"result": True, "message": "callback success"}, "callback body", body)

    # The plugin tells its caller it has finished.
    t0 = time.monotonic()
    try:
        path, headers, body = notify.received.get(timeout=30)
    except queue.Empty:
        raise Failure("no finish notification within 30 s of the callback")
    waited = time.monotonic() - t0
    check(path == node_path, "notification goes to plugin_callback_info.url", path)
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    check(ctype.split(";")[0].strip() == "application/json", "notification is JSON", ctype)
    check(json.loads(body) == finish["data"], "notification body equals plugin_callback_info.data", body)

    # SOPS then calls schedule once: the final state must already be stored.
    ok, sched = client.get_schedule(trace_id)
    check(ok, "schedule after the notification ok", sched)
    check(sched["state"] == SUCCESS, "schedule shows SUCCESS right after the notification", sched)
    check(sched["outputs"].get("task_id") == 77, "outputs.task_id from the callback data", sched)
    check("/taskflow/execute/77/" in sched["outputs"].get("task_url", ""), "outputs.task_url", sched)
    check(sched["err"] == "", "err is empty on success", sched)

    try:
        extra = notify.received.get(timeout=1.0)
        raise Failure("a second finish notification arrived: %r" % (extra,))
    except queue.Empty:
        pass
    print("     1.1.0: CALLBACK -> SUCCESS, notification %.2f s after the callback" % waited)


def scenario_invalid_inputs(client, state):
    detail = need_detail(client, state, "1.0.0")
    inputs = node_inputs("1.0.0", template_id="not a number")
    del inputs["options"]
    status, body = http_request(
        "POST",
        posixpath.join(client.plugin_host, "invoke", "1.0.0"),
        json.dumps({"inputs": inputs, "context": select_context(detail)}).encode(),
        client.apigw_headers,
    )
    check(status == 200, "invalid inputs still answer HTTP 200", (status, body))
    ok, data = data_parser(json.loads(body))
    check(ok, "result is true (a plugin failure, not a call failure)", data)
    check_trace_id(data, "invoke")
    check(data["state"] == FAIL, "state is FAIL", data)
    check(data["outputs"] is None, "outputs is null", data)
    check(isinstance(data["err"], str) and data["err"].startswith("inputs validation error:"),
          "err starts with 'inputs validation error:'", data["err"])
    check("template_id" in data["err"] and "options" in data["err"], "err names both bad fields", data["err"])


NODE_TOKEN = "caller-test-node-token-7f3a"
DEPRECATED = "0.9.0"


def scenario_pinned_to_deprecated(client, state):
    """A node created before 0.9.0 was deprecated still works: detail, invoke, schedule."""
    d = client.get_detail(DEPRECATED)
    check(d.get("result") is True, "detail %s of a deprecated version still answers" % DEPRECATED, d)
    data = d["data"]
    check(data.get("version") == DEPRECATED, "detail data.version", data.get("version"))
    for key in ("inputs", "outputs", "context_inputs"):
        check_trimmed_schema(data.get(key), "detail %s %s" % (DEPRECATED, key))
    check(isinstance(data.get("deprecated"), str) and data["deprecated"].startswith("use 1.0.0"),
          "detail says what to use instead", data.get("deprecated"))
    context = select_context(data)
    check(context == {"biz_cc_id": 2}, "selected context", context)
    inputs = node_inputs(DEPRECATED)
    ok, invoked = client.invoke(DEPRECATED, {"inputs": inputs, "context": context})
    check(ok, "invoke %s ok" % DEPRECATED, invoked)
    check_trace_id(invoked, "invoke")
    check(invoked["state"] == POLL, "invoke %s answers POLL" % DEPRECATED, invoked)
    trace_id = invoked["trace_id"]
    result, deadline = None, time.monotonic() + 30
    while time.monotonic() < deadline:
        ok, result = client.get_schedule(trace_id)
        check(ok, "schedule %s ok" % trace_id, result)
        if result["state"] != POLL:
            break
        time.sleep(0.3)
    check(result and result["state"] == SUCCESS, "the pinned node reaches SUCCESS", result)
    check(result["outputs"] == {"task_id": 9}, "outputs of %s" % DEPRECATED, result)
    print("     %s (deprecated): detail, invoke -> POLL -> SUCCESS" % DEPRECATED)


def scenario_no_secret_in_logs(log_paths, secrets):
    """Every log line (stdout and stderr) of the run is free of the secrets it was given."""
    secrets = [s for s in secrets if s] + [NODE_TOKEN]
    lines = 0
    for path in log_paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                lines += 1
                for secret in secrets:
                    check(secret not in line, "%s line %d has no secret" % (path, n), line.strip())
    check(lines > 0, "the logs are not empty", log_paths)


def scenario_logs(log_path, state):
    """SOPS reads a plugin's logs from PaaS by trace_id: stdout JSON lines with these keys."""
    trace_id = state.get("poll_trace_id")
    check(trace_id, "the poll scenario ran")
    lines = []
    with open(log_path, encoding="utf-8") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("trace_id") == trace_id:
                lines.append(rec)
    check(len(lines) >= 2, "stdout has JSON log lines for the poll invocation (invoke and the poll round)", len(lines))
    for rec in lines:
        for key in ("levelname", "funcName", "message"):
            check(isinstance(rec.get(key), str), "log line has %s" % key, rec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("app_url")
    ap.add_argument("--server-log")
    ap.add_argument("--server-err")
    ap.add_argument("--secret", action="append", default=[],
                    help="a value that must appear in no log line (repeatable)")
    args = ap.parse_args()

    client = PluginClient(args.app_url.rstrip("/"))
    notify = NotificationServer()
    state = {}
    scenarios = [
        ("meta (GET bk_plugin/meta, no slash)", lambda: scenario_meta(client, state)),
        ("detail: the schema keys SOPS reads", lambda: scenario_detail(client, state)),
        ("1.0.0 invoke -> POLL -> schedule until SUCCESS", lambda: scenario_poll(client, state)),
        ("1.1.0 invoke -> CALLBACK -> third-party callback -> finish notification -> schedule",
         lambda: scenario_callback(client, state, notify)),
        ("invoke with invalid inputs: HTTP 200, state 5", lambda: scenario_invalid_inputs(client, state)),
        ("a node pinned to the deprecated 0.9.0: detail, invoke, schedule until SUCCESS",
         lambda: scenario_pinned_to_deprecated(client, state)),
    ]
    if args.server_log:
        scenarios.append(("JSON log lines carry the trace_id", lambda: scenario_logs(args.server_log, state)))
        logs = [p for p in (args.server_log, args.server_err) if p]
        scenarios.append(("no secret in any log line (app secret, notification URL token)",
                          lambda: scenario_no_secret_in_logs(logs, args.secret)))

    passed = failed = 0
    try:
        for name, run in scenarios:
            t0 = time.monotonic()
            try:
                run()
            except Failure as e:
                failed += 1
                print("FAIL %s (%.1f s)\n     %s" % (name, time.monotonic() - t0, e))
            except Exception:
                failed += 1
                print("FAIL %s (%.1f s)\n%s" % (name, time.monotonic() - t0, traceback.format_exc()))
            else:
                passed += 1
                print("ok   %s (%.1f s)" % (name, time.monotonic() - t0))
    finally:
        notify.close()
    print("\ncaller: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
