"""The same work as benches/core.rs, done by pydantic v1 (what the Python framework runs).

    python3 -m venv /tmp/pyd && /tmp/pyd/bin/pip install pydantic==1.10.21
    /tmp/pyd/bin/python bk-plugin-kit/benches/pydantic_compare.py

Prints one line per case: mean time per operation over a timeit run.
"""
import json
import timeit
from typing import Optional

from pydantic import BaseModel, Field


class ExecOptions(BaseModel):
    name: str
    value: str


class ExecInputs(BaseModel):
    template_id: int = Field(..., description="Template to instantiate.")
    task_name: str
    constants: dict = Field({}, description="Global constants of the task.")
    options: ExecOptions
    tag: Optional[str] = None


class ExecContext(BaseModel):
    biz_cc_id: int = Field(..., title="业务 cc id", description="业务在 cmdb 中的 id")
    executor: str = Field(..., title="任务执行人")


class ExecOutputs(BaseModel):
    task_id: int = Field(..., title="标准运维任务 ID")
    task_url: str = Field(..., title="标准运维任务 URL")


def detail():
    # What bk-plugin-framework does per detail call (schema() is cached per class, so clear it).
    out = {}
    for m in (ExecInputs, ExecContext, ExecOutputs):
        m.__schema_cache__.clear()
        s = m.schema()
        out[m.__name__] = {"type": s["type"], "properties": s["properties"],
                           "required": s.get("required", []), "definitions": s.get("definitions", {})}
    return out


EXACT = {"template_id": 7, "task_name": "deploy", "constants": {"${a}": 1},
         "options": {"name": "color", "value": "blue"}, "tag": "t"}
COERCED = {"template_id": "7", "task_name": 123, "options": {"name": "n", "value": "v"}, "extra": "ignored"}
BYTES = json.dumps(EXACT).encode()

CASES = {
    "detail/build_one_version": detail,
    "inputs/validate_exact": lambda: ExecInputs(**EXACT),
    "inputs/validate_coerced": lambda: ExecInputs(**COERCED),
    "inputs/parse_and_validate_bytes": lambda: ExecInputs(**json.loads(BYTES)),
}

for name, fn in CASES.items():
    n, total = timeit.Timer(fn).autorange()
    best = min(timeit.repeat(fn, number=n, repeat=5)) / n
    print(f"{name:36s} {best * 1e9:10.0f} ns/op")
