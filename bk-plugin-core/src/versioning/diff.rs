//! [`diff`]: every difference between two `detail`s, field by field, classified.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::change::{Change, ChangeKind, Section};
use super::shape::{Model, ModelId, Root, Shape, form_keys};

/// Every difference between two `detail` JSONs of a plugin version, classified by the rules
/// of docs/versioning.md.
///
/// `old` and `new` are each either a `detail` (as [`Registry::detail`](crate::Registry::detail)
/// returns it, with `forms.renderform`) or a [`LockEntry`](super::LockEntry) as JSON (with
/// `form_sha256`, or the form's text as `form`); the form is compared by its SHA-256 either
/// way.
///
/// Models are compared by shape, not by definition name: `$ref` and `allOf: [$ref]` are
/// resolved, nested models are walked (paths like `options.name`, `hosts[].ip` for the items of
/// an array, `labels{}.key` for the values of a map), and a model renamed with an unchanged
/// shape is no change. The order is: inputs, context inputs, outputs (in each model, the old
/// fields in order, changed or removed, then the added ones), then the form, `desc`,
/// `enable_plugin_callback` and the status (`deprecated`).
///
/// ```
/// use bk_plugin_core::versioning::{ChangeKind, Severity, diff, rules};
/// use serde_json::json;
///
/// let old = json!({"inputs": {"type": "object", "properties": {
///     "name": {"title": "Name", "type": "string"}}, "required": ["name"], "definitions": {}}});
/// let new = json!({"inputs": {"type": "object", "properties": {}, "required": [],
///     "definitions": {}}});
/// let changes = diff(&old, &new);
/// assert_eq!(changes.len(), 1);
/// assert_eq!(changes[0].kind, ChangeKind::RequiredRemoved);
/// assert_eq!(changes[0].severity, Severity::Breaking);
/// assert_eq!(changes[0].rule, Some(rules::REMOVE_REQUIRED_INPUT));
/// assert_eq!(
///     changes[0].to_string(),
///     "inputs.name: required input removed — breaks \"removing a required input\""
/// );
/// ```
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    for section in [
        Section::InputsSchema,
        Section::ContextInputsSchema,
        Section::OutputsSchema,
    ] {
        let key = section.key();
        let (old, new) = (&old[key], &new[key]);
        let mut walk = Walk {
            section,
            old: Root::new(old),
            new: Root::new(new),
            visiting: Vec::new(),
            changes: &mut changes,
        };
        walk.models("", &Model::root(old), &Model::root(new));
    }

    let (old_form, new_form) = (form_sha256(old), form_sha256(new));
    if old_form != new_form {
        changes.push(Change::new(
            Section::Form,
            "renderform",
            ChangeKind::FormChanged {
                old_sha256: old_form,
                new_sha256: new_form,
            },
        ));
    }
    if old["desc"] != new["desc"] {
        changes.push(Change::new(
            Section::PluginMeta,
            "desc",
            ChangeKind::DescChanged,
        ));
    }
    let callback = |d: &Value| d["enable_plugin_callback"].as_bool().unwrap_or(false);
    match (callback(old), callback(new)) {
        (false, true) => changes.push(Change::new(
            Section::PluginMeta,
            "enable_plugin_callback",
            ChangeKind::CallbackEnabled,
        )),
        (true, false) => changes.push(Change::new(
            Section::PluginMeta,
            "enable_plugin_callback",
            ChangeKind::CallbackDisabled,
        )),
        _ => {}
    }
    let status = |d: &Value| d["deprecated"].as_str().map(str::to_owned);
    let (old_status, new_status) = (status(old), status(new));
    if old_status != new_status {
        changes.push(Change::new(
            Section::PluginMeta,
            "deprecated",
            ChangeKind::StatusChanged {
                old: old_status,
                new: new_status,
            },
        ));
    }
    changes
}

/// The SHA-256 (lowercase hex) of a form's text, with `\r\n` line endings read as `\n` so a
/// checkout with Windows line endings hashes the same.
pub fn sha256_hex(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// The form hash of a detail (`forms.renderform`) or of a lock entry (`form`, the text, or
/// `form_sha256`; [`LockEntry::form_hash`](super::LockEntry::form_hash)).
fn form_sha256(detail: &Value) -> Option<String> {
    match (detail.get("form"), detail.get("form_sha256")) {
        (Some(Value::String(text)), _) => Some(sha256_hex(text)),
        (_, Some(hash)) => hash.as_str().map(str::to_owned),
        (Some(_), None) => None,
        (None, None) => detail["forms"]["renderform"].as_str().map(sha256_hex),
    }
}

/// The form keys added, removed or changed between two properties: the old ones in order,
/// then the new ones. Their order is no change.
fn changed_form_keys(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    let differs = |key: &String| old.get(key) != new.get(key);
    old.keys()
        .chain(new.keys().filter(|k| !old.contains_key(*k)))
        .filter(|k| differs(k))
        .cloned()
        .collect()
}

/// One section's walk over two model trees.
struct Walk<'a, 'c> {
    section: Section,
    old: Root<'a>,
    new: Root<'a>,
    /// The model pairs being compared, outermost first: recursive models stop here.
    visiting: Vec<(ModelId, ModelId)>,
    changes: &'c mut Vec<Change>,
}

impl<'a> Walk<'a, '_> {
    fn push(&mut self, path: &str, kind: ChangeKind) {
        self.changes.push(Change::new(self.section, path, kind));
    }

    fn models(&mut self, path: &str, old: &Model<'a>, new: &Model<'a>) {
        let pair = (old.id, new.id);
        if self.visiting.contains(&pair) {
            return;
        }
        self.visiting.push(pair);
        if !path.is_empty() && old.description != new.description {
            self.push(path, ChangeKind::DescriptionChanged);
        }
        let join = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        for (key, old_field) in old.fields() {
            let field_path = join(key);
            match new.field(key) {
                Some(new_field) => self.field(
                    &field_path,
                    (old_field, old.is_required(key)),
                    (new_field, new.is_required(key)),
                ),
                None if old.is_required(key) => self.push(&field_path, ChangeKind::RequiredRemoved),
                None => self.push(&field_path, ChangeKind::OptionalRemoved),
            }
        }
        for (key, _) in new.fields() {
            if old.field(key).is_none() {
                let kind = if new.is_required(key) {
                    ChangeKind::RequiredAdded
                } else {
                    ChangeKind::OptionalAdded
                };
                self.push(&join(key), kind);
            }
        }
        self.visiting.pop();
    }

    /// One field present on both sides: `(schema, required)` each.
    fn field(&mut self, path: &str, old: (&'a Value, bool), new: (&'a Value, bool)) {
        let ((old, old_required), (new, new_required)) = (old, new);
        match (old_required, new_required) {
            (false, true) => self.push(path, ChangeKind::BecameRequired),
            (true, false) => self.push(path, ChangeKind::BecameOptional),
            _ => {}
        }
        // A bare `$ref` has no title: pydantic leaves it to the definition. Only two explicit
        // titles are compared.
        if let (Some(Value::String(o)), Some(Value::String(n))) =
            (old.get("title"), new.get("title"))
            && o != n
        {
            self.push(
                path,
                ChangeKind::TitleChanged {
                    old: o.clone(),
                    new: n.clone(),
                },
            );
        }
        if old.get("description") != new.get("description") {
            self.push(path, ChangeKind::DescriptionChanged);
        }
        // A default that appears or disappears together with `required` is reported as
        // BecameOptional / BecameRequired only.
        if old_required == new_required && old.get("default") != new.get("default") {
            self.push(
                path,
                ChangeKind::DefaultChanged {
                    old: old.get("default").cloned(),
                    new: new.get("default").cloned(),
                },
            );
        }
        let keys = changed_form_keys(&form_keys(old), &form_keys(new));
        if !keys.is_empty() {
            self.push(path, ChangeKind::FieldFormChanged { keys });
        }
        let (old_shape, new_shape) = (self.old.shape(old), self.new.shape(new));
        self.shapes(path, old_shape, new_shape);
    }

    fn shapes(&mut self, path: &str, old: Shape<'a>, new: Shape<'a>) {
        match (&old, &new) {
            (Shape::Model(o), Shape::Model(n)) => self.models(path, o, n),
            (Shape::Array(o), Shape::Array(n)) => {
                let (o, n) = (self.old.shape(o), self.new.shape(n));
                self.shapes(&format!("{path}[]"), o, n);
            }
            (Shape::Map(o), Shape::Map(n)) => {
                let (o, n) = (self.old.shape(o), self.new.shape(n));
                self.shapes(&format!("{path}{{}}"), o, n);
            }
            (Shape::Any, Shape::Any) => {}
            (Shape::Other(o), Shape::Other(n)) if o == n => {}
            _ => {
                let (o, n) = (old.describe(self.old), new.describe(self.new));
                let kind = if old.widens_to(&new) {
                    ChangeKind::TypeWidened { old: o, new: n }
                } else {
                    ChangeKind::TypeChanged { old: o, new: n }
                };
                self.push(path, kind);
            }
        }
    }
}
