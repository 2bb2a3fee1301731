#!/usr/bin/env python3
"""Generates the two crates that benches/compile-time.sh builds.

Both hold the same plugin: VERSIONS versions, each with an Inputs struct of INPUTS fields and
an Outputs struct of OUTPUTS fields (100 fields in all by default), and the same `execute`
body per version.

- `with_kit`: the bk-plugin-kit way, `#[derive(Inputs)]`, `#[derive(Outputs)]`, `#[field(..)]`
  and `#[plugin(version = ..)]` per version (what a ported Python plugin looks like).
- `with_serde`: the same structs with `#[derive(Serialize, Deserialize, JsonSchema)]`
  (serde + schemars, titles and defaults as their attributes) and the same bodies as plain
  async functions: the baseline the macros' overhead is measured against.

Usage: compile_time_gen.py OUT_DIR KIT_PATH
"""

import os
import sys

VERSIONS = 10
INPUTS = 8
OUTPUTS = 2

# (Rust type, a default as a Rust/attribute literal or None, a value for the body)
TYPES = [
    ("String", None),
    ("i64", "0"),
    ("u32", "10"),
    ("bool", "false"),
    ("Option<String>", None),
    ("Vec<String>", None),
    ("f64", None),
    ("String", None),
]


def field_name(v, i):
    return f"field_{v}_{i}"


def kit_version(v):
    out = ["use bk_plugin_kit::prelude::*;", ""]
    out.append(f"/// Inputs of version {v}.0.0.")
    out.append("#[derive(Inputs)]")
    out.append(f"pub struct Inputs{v} {{")
    for i in range(INPUTS):
        ty, default = TYPES[i % len(TYPES)]
        out.append(f"    /// Field {i} of version {v}: what the user fills in.")
        attr = f'title = "Field {i}"'
        if default is not None:
            attr += f", default = {default}"
        out.append(f"    #[field({attr})]")
        out.append(f"    pub {field_name(v, i)}: {ty},")
    out.append("}")
    out.append("")
    out.append(f"/// Outputs of version {v}.0.0.")
    out.append("#[derive(Outputs)]")
    out.append(f"pub struct Outputs{v} {{")
    for i in range(OUTPUTS):
        out.append(f'    #[field(title = "Output {i}")]')
        out.append(f"    pub out_{v}_{i}: String,")
    out.append("}")
    out.append("")
    out.append(f"/// Version {v}.0.0.")
    out.append(f'#[plugin(version = "{v}.0.0", desc = "Compile-time benchmark")]')
    out.append(f"pub struct Bench{v};")
    out.append("")
    out.append(f"impl Plugin for Bench{v} {{")
    out.append(f"    type Inputs = Inputs{v};")
    out.append("    type ContextInputs = ();")
    out.append(f"    type Outputs = Outputs{v};")
    out.append("")
    out.append(
        f"    async fn execute(&self, inputs: Inputs{v}, ctx: &mut Context<Self>) -> Result<(), PluginError> {{"
    )
    out.append(f"        let first = inputs.{field_name(v, 0)}.clone();")
    out.append(f'        let second = format!("{{}}-{{}}", inputs.{field_name(v, 1)}, "MARK");')
    outs = ", ".join([f"out_{v}_0: first", f"out_{v}_1: second"])
    out.append(f"        ctx.set_outputs(Outputs{v} {{ {outs} }})")
    out.append("    }")
    out.append("}")
    return "\n".join(out) + "\n"


def serde_version(v):
    out = [
        "use schemars::JsonSchema;",
        "use serde::{Deserialize, Serialize};",
        "",
    ]
    defaults = []
    out.append(f"/// Inputs of version {v}.0.0.")
    out.append("#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]")
    out.append(f"pub struct Inputs{v} {{")
    for i in range(INPUTS):
        ty, default = TYPES[i % len(TYPES)]
        name = field_name(v, i)
        out.append(f"    /// Field {i} of version {v}: what the user fills in.")
        out.append(f'    #[schemars(title = "Field {i}")]')
        if default is not None:
            fn = f"default_{name}"
            out.append(f'    #[serde(default = "{fn}")]')
            defaults.append(f"fn {fn}() -> {ty} {{\n    {default}\n}}")
        out.append(f"    pub {name}: {ty},")
    out.append("}")
    out.append("")
    out.extend(d + "\n" for d in defaults)
    out.append(f"/// Outputs of version {v}.0.0.")
    out.append("#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]")
    out.append(f"pub struct Outputs{v} {{")
    for i in range(OUTPUTS):
        out.append(f'    #[schemars(title = "Output {i}")]')
        out.append(f"    pub out_{v}_{i}: String,")
    out.append("}")
    out.append("")
    out.append(f"/// Version {v}.0.0.")
    out.append(
        f"pub async fn execute(inputs: Inputs{v}, outputs: &mut Option<serde_json::Value>) -> Result<(), String> {{"
    )
    out.append(f"    let first = inputs.{field_name(v, 0)}.clone();")
    out.append(f'    let second = format!("{{}}-{{}}", inputs.{field_name(v, 1)}, "MARK");')
    outs = ", ".join([f"out_{v}_0: first", f"out_{v}_1: second"])
    out.append(
        f"    *outputs = Some(serde_json::to_value(Outputs{v} {{ {outs} }}).map_err(|e| e.to_string())?);"
    )
    out.append("    Ok(())")
    out.append("}")
    out.append("")
    out.append(f"/// The schemas of version {v}.0.0, as a plugin's `detail` would give them.")
    out.append("pub fn schemas() -> (schemars::Schema, schemars::Schema) {")
    out.append(f"    (schemars::schema_for!(Inputs{v}), schemars::schema_for!(Outputs{v}))")
    out.append("}")
    return "\n".join(out) + "\n"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    out_dir, kit = sys.argv[1], os.path.abspath(sys.argv[2])
    mods = "".join(f"pub mod v{v};\n" for v in range(1, VERSIONS + 1))
    write(
        f"{out_dir}/Cargo.toml",
        '[workspace]\nmembers = ["with_kit", "with_serde"]\nresolver = "3"\n',
    )
    write(
        f"{out_dir}/with_kit/Cargo.toml",
        "[package]\nname = \"with_kit\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n"
        f"[dependencies]\nbk-plugin-kit = {{ path = \"{kit}\" }}\n",
    )
    write(f"{out_dir}/with_kit/src/lib.rs", "//! Benchmark crate.\n" + mods)
    write(
        f"{out_dir}/with_serde/Cargo.toml",
        "[package]\nname = \"with_serde\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n"
        "[dependencies]\n"
        'serde = { version = "1.0.229", features = ["derive"] }\n'
        'serde_json = "1.0.154"\n'
        'schemars = { version = "1.2.3", features = ["derive"] }\n'
        # the kit's own dependency tree is built in both, so only the crate itself differs
        f"bk-plugin-kit = {{ path = \"{kit}\" }}\n",
    )
    write(f"{out_dir}/with_serde/src/lib.rs", "//! Benchmark crate.\n" + mods)
    for v in range(1, VERSIONS + 1):
        write(f"{out_dir}/with_kit/src/v{v}.rs", kit_version(v))
        write(f"{out_dir}/with_serde/src/v{v}.rs", serde_version(v))


if __name__ == "__main__":
    main()
