//! Building pydantic-v1-shaped JSON schemas: properties, `$ref`s and flat definitions.

use std::any::TypeId;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::{FieldType, Model};

/// The definitions (`#/definitions/...`) collected while building one root schema.
///
/// Nested models are added before the model that uses them, as pydantic does. Two different
/// models with the same name get pydantic-style long names (`module__path__Name`).
#[derive(Debug, Default)]
pub struct Definitions {
    defs: Map<String, Value>,
    names: HashMap<String, TypeId>,
    in_progress: HashSet<TypeId>,
}

impl Definitions {
    /// Empty definitions.
    pub fn new() -> Self {
        Definitions::default()
    }

    /// Adds `M`'s definition if needed and returns `{"$ref": "#/definitions/<name>"}`.
    /// Recursive models are handled: a model being built is referenced, not rebuilt.
    pub fn reference<M: Model>(&mut self) -> Map<String, Value> {
        let id = TypeId::of::<M>();
        let name = self.name_for::<M>(id);
        if !self.defs.contains_key(&name) && self.in_progress.insert(id) {
            let mut schema = ModelSchema::new(self);
            M::describe(&mut schema);
            let (properties, required) = schema.into_parts();
            let mut def = Map::new();
            def.insert("title".into(), Value::String(name.clone()));
            if let Some(d) = M::DESCRIPTION {
                def.insert("description".into(), Value::String(d.to_owned()));
            }
            def.insert("type".into(), Value::String("object".into()));
            def.insert("properties".into(), Value::Object(properties));
            if !required.is_empty() {
                def.insert("required".into(), Value::Array(required));
            }
            self.in_progress.remove(&id);
            self.defs.insert(name.clone(), Value::Object(def));
        }
        let mut out = Map::new();
        out.insert(
            "$ref".into(),
            Value::String(format!("#/definitions/{name}")),
        );
        out
    }

    fn name_for<M: Model>(&mut self, id: TypeId) -> String {
        match self.names.get(M::NAME) {
            None => {
                self.names.insert(M::NAME.to_owned(), id);
                M::NAME.to_owned()
            }
            Some(existing) if *existing == id => M::NAME.to_owned(),
            Some(_) => format!("{}__{}", M::MODULE_PATH.replace("::", "__"), M::NAME),
        }
    }

    /// The collected definitions.
    pub fn into_map(self) -> Map<String, Value> {
        self.defs
    }
}

/// Per-field schema text: the JSON key, title and description.
#[derive(Debug, Clone, Copy)]
pub struct FieldDoc {
    /// JSON key.
    pub key: &'static str,
    /// `#[field(title)]`, or the key title-cased like pydantic (`task_name` → `Task Name`).
    pub title: &'static str,
    /// `true` when the title was given explicitly (then a model-typed field gets `allOf`).
    pub explicit_title: bool,
    /// `#[field(description)]` or the doc comment; `None` when empty.
    pub description: Option<&'static str>,
}

/// The properties and required list of one model, filled field by field by [`Model::describe`].
#[derive(Debug)]
pub struct ModelSchema<'a> {
    defs: &'a mut Definitions,
    properties: Map<String, Value>,
    required: Vec<Value>,
}

impl<'a> ModelSchema<'a> {
    /// Starts an empty model schema that records nested definitions in `defs`.
    pub fn new(defs: &'a mut Definitions) -> Self {
        ModelSchema {
            defs,
            properties: Map::new(),
            required: Vec::new(),
        }
    }

    /// Adds a field of type `T`, following pydantic's `field_schema`: keys in the order
    /// `title`, `description`, `default`, then the type's keys; a model-typed field is a bare
    /// `$ref` unless a title, description or default forces `{title, .., allOf: [$ref]}`.
    pub fn field<T: FieldType>(&mut self, doc: FieldDoc, default: Option<fn() -> T>) {
        self.field_with(&FieldOps::<T>::NEW, doc, default);
    }

    /// [`field`](ModelSchema::field) through a [`FieldOps`] table (what generated code uses).
    pub fn field_with<T>(&mut self, ops: &FieldOps<T>, doc: FieldDoc, default: Option<fn() -> T>) {
        let type_schema = (ops.schema)(self.defs);
        let default_json = default
            .map(|make| (ops.to_json)(&make()))
            .filter(|v| !v.is_null());
        let required = default.is_none() && !ops.optional;
        let is_ref = type_schema.contains_key("$ref");
        let overridden = doc.explicit_title || doc.description.is_some() || default_json.is_some();
        let property = if is_ref && !overridden {
            type_schema
        } else {
            let mut p = Map::new();
            p.insert("title".into(), Value::String(doc.title.to_owned()));
            if let Some(d) = doc.description {
                p.insert("description".into(), Value::String(d.to_owned()));
            }
            if let Some(d) = default_json {
                p.insert("default".into(), d);
            }
            if is_ref {
                p.insert(
                    "allOf".into(),
                    Value::Array(vec![Value::Object(type_schema)]),
                );
            } else {
                p.extend(type_schema);
            }
            p
        };
        self.properties
            .insert(doc.key.to_owned(), Value::Object(property));
        if required {
            self.required.push(Value::String(doc.key.to_owned()));
        }
    }

    fn into_parts(self) -> (Map<String, Value>, Vec<Value>) {
        (self.properties, self.required)
    }
}

/// [`Validator::field`](super::Validator::field) as a function pointer.
#[doc(hidden)]
pub type ReadFn<T> =
    fn(&mut super::Validator, &Map<String, Value>, &'static str, Option<fn() -> T>) -> Option<T>;

/// The [`FieldType`] operations of `T` as plain function pointers.
///
/// Generated code builds one table per field with [`field_ops`], the only place that requires
/// `T: FieldType`; everything else goes through the table. So an unsupported field type gives
/// exactly one error, on the field's type.
#[doc(hidden)]
pub struct FieldOps<T> {
    /// [`FieldType::OPTIONAL`].
    pub optional: bool,
    /// [`FieldType::schema`].
    pub schema: fn(&mut Definitions) -> Map<String, Value>,
    /// [`Validator::field`](super::Validator::field).
    pub read: ReadFn<T>,
    /// [`FieldType::to_json`].
    pub to_json: fn(&T) -> Value,
}

impl<T> std::fmt::Debug for FieldOps<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldOps")
            .field("optional", &self.optional)
            .finish_non_exhaustive()
    }
}

impl<T: FieldType> FieldOps<T> {
    const NEW: FieldOps<T> = FieldOps {
        optional: T::OPTIONAL,
        schema: T::schema,
        read: super::Validator::field::<T>,
        to_json: T::to_json,
    };
}

/// The operations table of field type `T`.
#[doc(hidden)]
pub const fn field_ops<T: FieldType>() -> FieldOps<T> {
    FieldOps::<T>::NEW
}

/// The framework's trimmed root schema of `M`: exactly `{type, properties, required, definitions}`.
pub fn root_schema<M: Model>() -> Value {
    let mut defs = Definitions::new();
    let mut schema = ModelSchema::new(&mut defs);
    M::describe(&mut schema);
    let (properties, required) = schema.into_parts();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "definitions": defs.into_map(),
    })
}

/// The schema of a model that is not declared (`type Inputs = ();`).
pub fn empty_schema() -> Value {
    json!({"type": "object", "properties": {}, "required": [], "definitions": {}})
}
