//! Building pydantic-v1-shaped JSON schemas: properties, `$ref`s and flat definitions.

use std::any::TypeId;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::constraints::{Constraints, PyKind};
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
        self.define(TypeId::of::<M>(), M::NAME, M::MODULE_PATH, |defs| {
            let mut schema = ModelSchema::new(defs);
            M::describe(&mut schema);
            let (properties, required) = schema.into_parts();
            let mut def = Map::new();
            def.insert("title".into(), Value::String(M::NAME.to_owned()));
            if let Some(d) = M::DESCRIPTION {
                def.insert("description".into(), Value::String(d.to_owned()));
            }
            def.insert("type".into(), Value::String("object".into()));
            def.insert("properties".into(), Value::Object(properties));
            if !required.is_empty() {
                def.insert("required".into(), Value::Array(required));
            }
            def
        })
    }

    /// Adds the definition of type `id` (built by `build`, unless already there or being built)
    /// under `name`, or under its long name when another type took `name`; returns the `$ref`.
    pub(crate) fn define(
        &mut self,
        id: TypeId,
        name: &str,
        module_path: &str,
        build: impl FnOnce(&mut Definitions) -> Map<String, Value>,
    ) -> Map<String, Value> {
        let name = self.name_for(id, name, module_path);
        if !self.defs.contains_key(&name) && self.in_progress.insert(id) {
            let mut def = build(self);
            // The title is the name the definition is stored under (long on a clash).
            if let Some(title) = def.get_mut("title") {
                *title = Value::String(name.clone());
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

    fn name_for(&mut self, id: TypeId, name: &str, module_path: &str) -> String {
        match self.names.get(name) {
            None => {
                self.names.insert(name.to_owned(), id);
                name.to_owned()
            }
            Some(existing) if *existing == id => name.to_owned(),
            Some(_) => format!("{}__{}", module_path.replace("::", "__"), name),
        }
    }

    /// Adds a definition another schema generator named (`Serde<T>`'s nested types), unless
    /// one of that name exists.
    #[cfg(feature = "schemars")]
    pub(crate) fn add_foreign(&mut self, name: &str, def: Map<String, Value>) {
        self.defs
            .entry(name.to_owned())
            .or_insert(Value::Object(def));
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
        self.field_with(&FieldOps::<T>::NEW, doc, default, &Constraints::NONE);
    }

    /// [`field`](ModelSchema::field) through a [`FieldOps`] table, with the field's
    /// constraints (what generated code uses).
    ///
    /// The constraint keys pydantic's `get_field_schema_validations` writes come after the
    /// default and before the type's keys; a field whose pydantic `type_` is an `Enum` has no
    /// automatic title (pydantic leaves it to the definition).
    pub fn field_with<T>(
        &mut self,
        ops: &FieldOps<T>,
        doc: FieldDoc,
        default: Option<fn() -> T>,
        constraints: &Constraints,
    ) {
        let type_schema = (ops.schema)(self.defs, constraints);
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
            if doc.explicit_title || ops.kind != PyKind::Enum {
                p.insert("title".into(), Value::String(doc.title.to_owned()));
            }
            if let Some(d) = doc.description {
                p.insert("description".into(), Value::String(d.to_owned()));
            }
            if let Some(d) = default_json {
                p.insert("default".into(), d);
            }
            p.extend(constraints.property_schema(ops.kind, ops.outer_list));
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

    /// Merges a field's form keys (`#[field(form = {..})]`: `ui:component`, `ui:props`, …)
    /// into the property of `key`, as the Python framework merges an `InputsForm` attribute
    /// into `inputs.properties[key]`: with `dict.update`, so the keys follow the schema's keys
    /// in the order given (a key the property already has would keep its place and take the
    /// new value; the macro only lets `ui:` keys through, which no schema has). Call it after
    /// the field was added; an unknown `key` is ignored.
    pub fn merge_form(&mut self, key: &str, form: Map<String, Value>) {
        if let Some(Value::Object(property)) = self.properties.get_mut(key) {
            for (k, v) in form {
                property.insert(k, v);
            }
        }
    }

    fn into_parts(self) -> (Map<String, Value>, Vec<Value>) {
        (self.properties, self.required)
    }
}

/// [`Validator::field`](super::Validator::field) as a function pointer.
#[doc(hidden)]
pub type ReadFn<T> = fn(
    &mut super::Validator,
    &Map<String, Value>,
    &'static str,
    Option<fn() -> T>,
    &Constraints,
) -> Option<T>;

/// The [`FieldType`] operations of `T` as plain function pointers.
///
/// Generated code builds one table per field with [`field_ops`], the only place that requires
/// `T: FieldType`; everything else goes through the table. So an unsupported field type gives
/// exactly one error, on the field's type.
#[doc(hidden)]
pub struct FieldOps<T> {
    /// [`FieldType::OPTIONAL`].
    pub optional: bool,
    /// [`FieldType::FIELD_KIND`].
    pub kind: PyKind,
    /// [`FieldType::OUTER_LIST`].
    pub outer_list: bool,
    /// [`FieldType::schema_with`].
    pub schema: fn(&mut Definitions, &Constraints) -> Map<String, Value>,
    /// [`Validator::field_with`](super::Validator::field_with).
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
        kind: T::FIELD_KIND,
        outer_list: T::OUTER_LIST,
        schema: T::schema_with,
        read: super::Validator::field_with::<T>,
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
