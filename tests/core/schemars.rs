//! The `schemars` feature (docs/macros.md, "Serde and schemars types"): every derived model and
//! choice implements `schemars::JsonSchema` with the schema `detail` shows, and `Serde<T>` makes a
//! serde + schemars type a field: its schema translated to pydantic's dialect, its serde errors
//! field errors at their path, its value written back by serde.

use bk_plugin_kit::prelude::*;
use bk_plugin_kit::schemars::{self, JsonSchema, schema_for};
use bk_plugin_kit::serde_json::{self, Value, json};
use bk_plugin_kit::{FieldType, Serde};

/// How urgently to run.
#[derive(Choice, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    #[choice(rename = "low")]
    Low,
    #[choice(rename = "high")]
    High,
}

/// Where to deploy.
#[derive(Inputs, Debug)]
pub struct Target {
    pub host: String,
    #[field(default = 22)]
    pub port: i64,
}

/// A server as another crate describes it: serde and schemars derives only.
#[derive(serde::Serialize, serde::Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Server {
    /// The host name.
    pub host: String,
    pub port: u16,
    pub tags: Option<Vec<String>>,
    pub kind: Kind,
}

#[derive(serde::Serialize, serde::Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A virtual machine.
    Vm,
    /// A container.
    Container,
}

#[derive(Inputs, Debug)]
pub struct Deploy {
    pub target: Target,
    #[field(default = Priority::Low)]
    pub priority: Priority,
    /// The servers, as the inventory API returns them.
    pub servers: Serde<Vec<Server>>,
    pub primary: Option<Serde<Server>>,
}

#[test]
fn derived_models_are_json_schema_with_the_schema_detail_shows() {
    let ours = <Deploy as Inputs>::schema();
    let theirs = serde_json::to_value(schema_for!(Deploy)).unwrap();
    // The same properties and required keys; references point at schemars' `$defs`.
    let mut expected = ours["properties"].clone();
    move_refs(&mut expected);
    assert_eq!(theirs["properties"], expected);
    assert_eq!(theirs["required"], ours["required"]);
    for name in ["Target", "Priority", "Server"] {
        let mut def = ours["definitions"][name].clone();
        move_refs(&mut def);
        assert_eq!(theirs["$defs"][name], def, "{name}");
    }
    assert_eq!(<Priority as JsonSchema>::schema_name(), "Priority");
    assert_eq!(
        serde_json::to_value(schema_for!(Priority)).unwrap()["enum"],
        json!(["low", "high"])
    );
}

fn move_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "$ref" {
                    *x = json!(x.as_str().unwrap().replace("#/definitions/", "#/$defs/"));
                } else {
                    move_refs(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(move_refs),
        _ => {}
    }
}

#[test]
fn a_serde_field_s_schema_is_in_pydantic_s_dialect() {
    let s = <Deploy as Inputs>::schema();
    assert_eq!(
        s["properties"]["servers"],
        json!({"title": "Servers", "description": "The servers, as the inventory API returns them.",
               "type": "array", "items": {"$ref": "#/definitions/Server"}})
    );
    // As for a nested model: a bare `$ref` (pydantic writes no title beside it).
    assert_eq!(
        s["properties"]["primary"],
        json!({"$ref": "#/definitions/Server"})
    );
    assert_eq!(
        s["definitions"]["Server"],
        json!({
            "title": "Server",
            "description": "A server as another crate describes it: serde and schemars derives only.",
            "type": "object",
            "properties": {
                "host": {"description": "The host name.", "type": "string"},
                "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                "tags": {"type": "array", "items": {"type": "string"}},
                "kind": {"$ref": "#/definitions/Kind"}
            },
            "required": ["host", "port", "kind"]
        })
    );
    assert_eq!(
        s["definitions"]["Kind"],
        json!({"title": "Kind", "type": "string", "enum": ["vm", "container"]})
    );
}

#[test]
fn serde_errors_are_field_errors_at_their_path() {
    let input = json!({
        "target": {"host": "h"},
        "servers": [
            {"host": "a", "port": 1, "kind": "vm"},
            {"host": "b", "port": "x", "kind": "vm"}
        ],
        "primary": {"host": "c", "port": 2, "kind": "tank"},
        "priority": "mid",
    });
    let err = <Deploy as Inputs>::from_json(&input)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "3 validation errors for Inputs\n\
         priority\n  value is not a valid enumeration member; permitted: 'low', 'high' (type=type_error.enum; enum_values=[<Priority.Low: 'low'>, <Priority.High: 'high'>])\n\
         servers -> 1 -> port\n  invalid type: string \"x\", expected u16 (type=value_error.serde)\n\
         primary -> kind\n  unknown variant `tank`, expected `vm` or `container` (type=value_error.serde)"
    );
}

#[test]
fn serde_values_are_read_strictly_and_written_back_by_serde() {
    let input = json!({
        "target": {"host": "h"},
        "servers": [{"host": "a", "port": 1, "kind": "container", "tags": ["x"]}],
    });
    let d = <Deploy as Inputs>::from_json(&input).unwrap();
    assert_eq!(d.servers[0].kind, Kind::Container);
    assert!(d.primary.is_none());
    assert_eq!(
        d.servers.to_json(),
        json!([{"host": "a", "port": 1, "tags": ["x"], "kind": "container"}])
    );
    let strict =
        json!({"target": {"host": "h"}, "servers": [{"host": "a", "port": "1", "kind": "vm"}]});
    assert!(
        <Deploy as Inputs>::from_json(&strict).is_err(),
        "\"1\" is no u16 for serde"
    );
}
