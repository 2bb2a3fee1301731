"""Posts a form upload to plugin_api_dispatch exactly as BlueKing SOPS does.

The upload branch of `PluginServiceApiClient.dispatch_plugin_api_request`
(bk-sops plugin_service/plugin_client.py), with python-requests: the JSON Content-Type
dropped, every UploadedFile value of `data` sent as a file `(name, bytes)` (no content type),
the other values as the JSON string `dumped_data`, beside `method`, `url` and `username`.

Reads one JSON object on stdin:
  {"url": "<plugin_api_dispatch URL>", "headers": {..},
   "params": {"method": .., "url": .., "username": .., "data": {..}},   (any of them may be absent)
   "files": {"<field>": {"name": "<file name>", "hex": "<content as hex>"}}}
and prints {"status": <HTTP status>, "body": "<response text>"}.
"""

import io
import json
import sys

import requests


class UploadedFile:
    """What SOPS's view finds in request.data for a file (Django's UploadedFile): .name, .file."""

    def __init__(self, name, content):
        self.name = name
        self.file = io.BytesIO(content)


def main():
    spec = json.load(sys.stdin)
    request_params = dict(spec["params"])
    request_params["data"] = dict(request_params.get("data", {}))
    for key, f in spec["files"].items():
        request_params["data"][key] = UploadedFile(f["name"], bytes.fromhex(f["hex"]))
    # _prepare_apigw_api_request's headers, then the injected BK-PLUGIN-* ones.
    headers = {"Content-Type": "application/json"}
    headers.update(spec["headers"])

    # From here on as dispatch_plugin_api_request.
    if not any([isinstance(data, UploadedFile) for data in request_params["data"].values()]):
        sys.exit("no file to upload: SOPS would send JSON")
    headers.pop("Content-Type")
    params, files = {}, {}
    for key, value in request_params["data"].items():
        if isinstance(value, UploadedFile):
            files[key] = (value.name, value.file.read())
        else:
            params[key] = value
    request_params.pop("data", None)
    request_params["dumped_data"] = json.dumps(params)
    result = requests.post(spec["url"], data=request_params, headers=headers, files=files)

    print(json.dumps({"status": result.status_code, "body": result.text}))


if __name__ == "__main__":
    main()
