//! Reading pydantic-v1 schemas as types: `$ref` and `allOf: [$ref]` resolved into their
//! definitions, arrays and maps unwrapped, annotations (title, description, default) and form
//! keys (`ui:*`) set apart.

use serde_json::{Map, Value};

/// How deep `$ref` chains are followed before a schema is compared as written.
const MAX_REF_DEPTH: usize = 16;

/// The annotations pydantic puts on a property next to its type.
const ANNOTATIONS: [&str; 3] = ["title", "description", "default"];

/// `true` for a form key (`ui:component`, …: `#[field(form = {..})]`, the Python
/// `InputsForm`): part of the form, not of the field's type.
pub(crate) fn is_form_key(key: &str) -> bool {
    key.starts_with("ui:")
}

/// The form keys of a property, in order.
pub(crate) fn form_keys(schema: &Value) -> Map<String, Value> {
    schema
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| is_form_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// One root schema (`{type, properties, required, definitions}`): where `$ref`s resolve.
#[derive(Clone, Copy)]
pub(crate) struct Root<'a> {
    definitions: Option<&'a Map<String, Value>>,
}

impl<'a> Root<'a> {
    pub(crate) fn new(schema: &'a Value) -> Root<'a> {
        Root {
            definitions: schema.get("definitions").and_then(Value::as_object),
        }
    }

    /// The type of `schema`, with references resolved.
    pub(crate) fn shape(self, schema: &'a Value) -> Shape<'a> {
        self.shape_at(schema, 0)
    }

    fn shape_at(self, schema: &'a Value, depth: usize) -> Shape<'a> {
        let Some(obj) = schema.as_object() else {
            return Shape::Other(schema.clone());
        };
        if depth < MAX_REF_DEPTH {
            if let Some(target) = self.target(obj) {
                return self.shape_at(target, depth + 1);
            }
            if let Some([only]) = obj
                .get("allOf")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                && let Some(target) = only.as_object().and_then(|o| self.target(o))
            {
                return self.shape_at(target, depth + 1);
            }
        }
        if obj.contains_key("properties") {
            return Shape::Model(Model::of(obj));
        }
        let rest: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str()) && !is_form_key(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let only =
            |a: &str, b: &str| rest.len() == 2 && rest.contains_key(a) && rest.contains_key(b);
        match rest.get("type").and_then(Value::as_str) {
            _ if rest.is_empty() => Shape::Any,
            Some("array") if only("type", "items") => Shape::Array(&obj["items"]),
            Some("object") if only("type", "additionalProperties") => {
                Shape::Map(&obj["additionalProperties"])
            }
            _ => Shape::Other(Value::Object(rest)),
        }
    }

    /// The definition a `{"$ref": "#/definitions/Name"}` points at.
    fn target(self, obj: &Map<String, Value>) -> Option<&'a Value> {
        let name = obj.get("$ref")?.as_str()?.strip_prefix("#/definitions/")?;
        self.definitions?.get(name)
    }
}

/// Identifies a model's JSON object while walking recursive models (compared, never read).
pub(crate) type ModelId = *const Map<String, Value>;

/// A schema read as a type.
pub(crate) enum Shape<'a> {
    /// No type keys at all: Python `Any` (`serde_json::Value`).
    Any,
    /// An object with `properties`: a model (a definition, or the root itself).
    Model(Model<'a>),
    /// `{type: array, items}`: the items' schema.
    Array(&'a Value),
    /// `{type: object, additionalProperties}`: the values' schema.
    Map(&'a Value),
    /// Anything else (`{type: integer}`, `{type: object}`, a custom `FieldType`'s keys), without
    /// annotations. Compared as written.
    Other(Value),
}

impl Shape<'_> {
    /// The type in a few words, for messages: `integer`, `array of string`, `model Options`.
    pub(crate) fn describe(&self, root: Root<'_>) -> String {
        self.describe_at(root, 0)
    }

    fn describe_at(&self, root: Root<'_>, depth: usize) -> String {
        let inner = |schema: &Value| {
            if depth < MAX_REF_DEPTH {
                root.shape(schema).describe_at(root, depth + 1)
            } else {
                "…".to_owned()
            }
        };
        match self {
            Shape::Any => "any".into(),
            Shape::Model(m) => match m.name {
                Some(name) => format!("model {name}"),
                None => "model".into(),
            },
            Shape::Array(items) => format!("array of {}", inner(items)),
            Shape::Map(values) => format!("map of {}", inner(values)),
            Shape::Other(schema) => match schema.as_object() {
                Some(o) if o.len() == 1 && o.get("type").is_some_and(Value::is_string) => {
                    o["type"].as_str().unwrap_or_default().to_owned()
                }
                Some(o) if o.len() == 2 && o.get("type").is_some() && o.contains_key("enum") => {
                    let members: Vec<String> = o["enum"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(Value::to_string)
                        .collect();
                    format!("one of {}", members.join(", "))
                }
                _ => schema.to_string(),
            },
        }
    }

    /// `true` when every value `self` accepts, `new` accepts too, provably from the schemas:
    /// `integer` → `number`, anything → `any`, and constraints relaxed (an `enum` with more
    /// members, a bound moved outwards or dropped; see `relax.rs`).
    pub(crate) fn widens_to(&self, new: &Shape<'_>) -> bool {
        match (self, new) {
            (Shape::Any, _) => false,
            (_, Shape::Any) => true,
            (Shape::Other(old), Shape::Other(new)) => match (old.as_object(), new.as_object()) {
                (Some(old), Some(new)) => super::relax::relaxes(old, new),
                _ => false,
            },
            // A list or map whose constraints were all dropped.
            (Shape::Other(old), Shape::Array(items)) => old
                .as_object()
                .is_some_and(|old| super::relax::relaxes(old, &bare("array", "items", items))),
            (Shape::Other(old), Shape::Map(values)) => old.as_object().is_some_and(|old| {
                super::relax::relaxes(old, &bare("object", "additionalProperties", values))
            }),
            _ => false,
        }
    }
}

/// `{"type": ty, key: inner}`: an unconstrained array or map, as the old side's keys write it.
fn bare(ty: &str, key: &str, inner: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(ty.into()));
    m.insert(key.into(), inner.clone());
    m
}

/// A model: its fields, which of them are required, its name and doc comment.
pub(crate) struct Model<'a> {
    /// The definition's title (the Rust type name, or its `#[model(rename)]`); `None` for the
    /// root.
    pub(crate) name: Option<&'a str>,
    /// The model's doc comment or `#[model(description)]`.
    pub(crate) description: Option<&'a str>,
    /// `properties`, in order.
    pub(crate) properties: Option<&'a Map<String, Value>>,
    required: Option<&'a Vec<Value>>,
    /// The object the model was read from: identifies it when walking recursive models.
    pub(crate) id: ModelId,
}

impl<'a> Model<'a> {
    fn of(obj: &'a Map<String, Value>) -> Model<'a> {
        Model {
            name: obj.get("title").and_then(Value::as_str),
            description: obj.get("description").and_then(Value::as_str),
            properties: obj.get("properties").and_then(Value::as_object),
            required: obj.get("required").and_then(Value::as_array),
            id: obj,
        }
    }

    /// The root model of a section (`detail["inputs"]`); an absent or empty section has no
    /// fields.
    pub(crate) fn root(schema: &'a Value) -> Model<'a> {
        match schema.as_object() {
            Some(obj) => Model {
                name: None,
                ..Model::of(obj)
            },
            None => Model {
                name: None,
                description: None,
                properties: None,
                required: None,
                id: std::ptr::null(),
            },
        }
    }

    /// The fields, in order.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&'a str, &'a Value)> + use<'a> {
        self.properties
            .into_iter()
            .flat_map(|p| p.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// The schema of field `key`.
    pub(crate) fn field(&self, key: &str) -> Option<&'a Value> {
        self.properties?.get(key)
    }

    /// `true` when `key` is listed in `required`.
    pub(crate) fn is_required(&self, key: &str) -> bool {
        self.required
            .is_some_and(|r| r.iter().any(|k| k.as_str() == Some(key)))
    }
}
