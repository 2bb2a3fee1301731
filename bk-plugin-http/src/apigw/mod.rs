//! The plugin's API gateway: the resources and the definition apigw-manager would sync
//! ([`resources`], [`definition`]), the management API ([`client`]), the `apigw sync` and
//! `apigw definition DIR` subcommands ([`command`]), and the public key kept in the store.

mod client;
mod command;
mod definition;
mod key;
mod resources;
mod settings;
mod state;
mod sync;

pub(crate) use client::Management;
pub(crate) use command::{ApigwCommand, parse, run};
pub(crate) use key::fetch as fetch_public_key;
pub(crate) use settings::{management_base, preallocated};
pub(crate) use state::keys::public_key as public_key_setting;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `value` as YAML (block style, keys in document order).
fn yaml(value: &Value) -> String {
    // A `serde_json::Value` always serialises: its keys are strings.
    serde_norway::to_string(value).unwrap_or_default()
}

/// Hex SHA-256 of `value` as JSON with every object's keys sorted: equal documents hash
/// equally whatever their key order.
fn digest(value: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<_> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let text = sorted(value).to_string();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
