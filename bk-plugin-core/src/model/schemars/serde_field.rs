//! [`Serde<T>`]: a field of any `Serialize + DeserializeOwned + JsonSchema` type.

use std::any::TypeId;
use std::borrow::Cow;

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::translate::to_pydantic;
use crate::model::FieldType;
use crate::model::schema::Definitions;
use crate::model::validate::{ErrorKind, PathSegment, Validator};

/// A field whose type the kit does not derive: any `T: Serialize + DeserializeOwned +
/// JsonSchema` (the `schemars` feature).
///
/// The schema is schemars' for `T`, translated to pydantic's dialect (docs/macros.md, "Serde
/// and schemars types"); a struct becomes a definition and a `$ref`, as a nested model does.
/// The value is read by serde, **strictly** (no pydantic coercion: `"7"` is not a number); a
/// serde error is one field error, at the path serde reached inside the value, with serde's
/// message and the type `value_error.serde`.
///
/// ```
/// use bk_plugin_core::{FieldType, Inputs, Serde};
/// use serde_json::json;
///
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct Target {
///     host: String,
///     port: u16,
/// }
///
/// #[derive(Inputs)]
/// # #[model(crate = "bk_plugin_core")]
/// struct Deploy {
///     target: Serde<Target>,
/// }
///
/// let err = <Deploy as Inputs>::from_json(&json!({"target": {"host": "h", "port": "x"}}))
///     .err()
///     .unwrap();
/// assert_eq!(
///     err.to_string(),
///     "1 validation error for Inputs\ntarget -> port\n  invalid type: string \"x\", expected u16 (type=value_error.serde)"
/// );
/// let ok = <Deploy as Inputs>::from_json(&json!({"target": {"host": "h", "port": 22}}));
/// let ok = ok.ok().unwrap();
/// assert_eq!(ok.target.port, 22);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serde<T>(pub T);

impl<T> Serde<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Serde<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Serde<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Serde<T> {
    fn from(value: T) -> Self {
        Serde(value)
    }
}

/// The generator for a field's schema: draft 7, definitions where pydantic keeps them.
fn generator() -> SchemaGenerator {
    SchemaSettings::draft07()
        .with(|s| {
            s.meta_schema = None;
            s.definitions_path = "/definitions".into();
        })
        .into_generator()
}

impl<T> FieldType for Serde<T>
where
    T: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
{
    fn schema(defs: &mut Definitions) -> Map<String, Value> {
        let root = generator().into_root_schema_for::<T>();
        let Value::Object(mut root) = to_pydantic(root.to_value()) else {
            return Map::new();
        };
        if let Some(Value::Object(nested)) = root.remove("definitions") {
            for (name, def) in nested {
                if let Value::Object(def) = def {
                    defs.add_foreign(&name, titled(&name, def));
                }
            }
        }
        if root.contains_key("properties") {
            let name: Cow<'static, str> = T::schema_name();
            let full = std::any::type_name::<T>();
            let module = full.rsplit_once("::").map_or("", |(m, _)| m);
            return defs.define(TypeId::of::<T>(), &name, module, |_| titled(&name, root));
        }
        // Not a struct: inline, without the root title schemars gives it.
        root.remove("title");
        root
    }

    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(Serde(v)),
            Err(e) => {
                let segments: Vec<PathSegment> = e
                    .path()
                    .iter()
                    .filter_map(|s| match s {
                        serde_path_to_error::Segment::Seq { index } => {
                            Some(PathSegment::Index(*index))
                        }
                        serde_path_to_error::Segment::Map { key } => {
                            Some(PathSegment::Key(Cow::Owned(key.clone())))
                        }
                        serde_path_to_error::Segment::Enum { variant } => {
                            Some(PathSegment::Key(Cow::Owned(variant.clone())))
                        }
                        serde_path_to_error::Segment::Unknown => None,
                    })
                    .collect();
                let kind = ErrorKind::Custom {
                    message: e.into_inner().to_string().into(),
                    error_type: "value_error.serde".into(),
                };
                report_at(validator, &segments, kind);
                None
            }
        }
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

/// A definition as pydantic writes one: `title` (its name, unless schemars gave one), then
/// `description`, then the rest.
fn titled(name: &str, mut def: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let title = def
        .remove("title")
        .unwrap_or_else(|| Value::String(name.to_owned()));
    out.insert("title".into(), title);
    if let Some(d) = def.remove("description") {
        out.insert("description".into(), d);
    }
    out.extend(def);
    out
}

/// Records `kind` at `path` below the validator's current location.
fn report_at(validator: &mut Validator, path: &[PathSegment], kind: ErrorKind) {
    match path.split_first() {
        None => validator.error(kind),
        Some((first, rest)) => validator.at(first.clone(), |v| report_at(v, rest, kind)),
    }
}
