//! schemars (the `schemars` feature): every derived model and choice implements
//! `schemars::JsonSchema` with the schema it gives `detail` ([`json_schema_for`]), and
//! [`Serde<T>`] makes any serde + schemars type a field, its schema translated to pydantic's
//! dialect ([`translate`]).

mod serde_field;
mod translate;

use std::borrow::Cow;

use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value};

use super::{Definitions, FieldType};

pub use serde_field::Serde;

/// The definition name a `$ref` of ours points at.
fn ref_name(schema: &Map<String, Value>) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix("#/definitions/")
}

/// The name `T`'s schema is stored under: its definition's, else its Rust name.
#[doc(hidden)]
pub fn schema_name_of<T: FieldType>() -> Cow<'static, str> {
    let top = T::schema(&mut Definitions::new());
    match ref_name(&top) {
        Some(name) => Cow::Owned(name.to_owned()),
        None => Cow::Borrowed(short_type_name::<T>()),
    }
}

/// `T`'s name without its module path.
pub(crate) fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let head = full.split('<').next().unwrap_or(full);
    match head.rfind("::") {
        Some(i) => &full[i + 2..],
        None => full,
    }
}

/// `T`'s schema for a schemars generator: the same JSON as in `detail` (pydantic's dialect),
/// with the definitions of the models it uses added to the generator's and its `$ref`s pointing
/// there.
#[doc(hidden)]
pub fn json_schema_for<T: FieldType>(generator: &mut SchemaGenerator) -> Schema {
    let mut defs = Definitions::new();
    let top = T::schema(&mut defs);
    let mut defs = defs.into_map();
    let own = match ref_name(&top).map(str::to_owned) {
        Some(name) => match defs.remove(&name) {
            Some(Value::Object(def)) => def,
            _ => top,
        },
        None => top,
    };
    let path = generator.settings().definitions_path.clone();
    let path = path.strip_prefix('#').unwrap_or(&path);
    let prefix = format!("#{}/", path.strip_suffix('/').unwrap_or(path));
    for (name, mut def) in defs {
        translate::move_refs(&mut def, "#/definitions/", &prefix);
        generator.definitions_mut().entry(name).or_insert(def);
    }
    let mut own = Value::Object(own);
    translate::move_refs(&mut own, "#/definitions/", &prefix);
    match own {
        Value::Object(m) => Schema::from(m),
        _ => Schema::default(),
    }
}

/// `impl schemars::JsonSchema for $t` with the schema of its `FieldType` (the derives emit it;
/// without the `schemars` feature it expands to nothing).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_json_schema {
    ($t:ty) => {
        #[automatically_derived]
        impl $crate::__private::schemars::JsonSchema for $t {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                $crate::__private::schema_name_of::<$t>()
            }
            fn schema_id() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(::core::any::type_name::<$t>())
            }
            fn json_schema(
                generator: &mut $crate::__private::schemars::SchemaGenerator,
            ) -> $crate::__private::schemars::Schema {
                $crate::__private::json_schema_for::<$t>(generator)
            }
        }
    };
}
