//! Field constraints (`#[field(ge = 1, max_length = 8, regex = "^a", min_items = 1, ..)]`):
//! their schema keys and checks, as pydantic v1's `conint` / `confloat` / `constr` / `conlist`.
//!
//! As pydantic's `Field(..)` constraints do, number constraints apply to every number inside the
//! field's type (`Vec<i64>` items, `Option<f64>`, map values), string constraints to every
//! string, and `min_items` / `max_items` to every list.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde_json::{Map, Number, Value};

use super::py_repr::py_float_repr;
use super::validate::{ErrorKind, Validator};

/// A number constraint's limit, as written in the attribute: an integer or a float literal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// An integer literal (`ge = 1`): written as a JSON integer and printed as `1`.
    Int(i64),
    /// A float literal (`ge = 0.5`, `ge = 1.0`): written as a JSON float and printed with
    /// Python's `repr`.
    Float(f64),
}

impl Limit {
    fn to_json(self) -> Value {
        match self {
            Limit::Int(i) => Value::Number(i.into()),
            Limit::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        }
    }

    /// The limit as Python prints it in an error (`limit_value=1`, `limit_value=0.5`).
    fn repr(self) -> String {
        match self {
            Limit::Int(i) => i.to_string(),
            Limit::Float(f) => py_float_repr(f),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Limit::Int(i) => i as f64,
            Limit::Float(f) => f,
        }
    }
}

/// A `regex = ".."` pattern, matched like Python's `re.match`: anchored at the start of the
/// text, not at its end. Compiled on first use; the derive checked that it compiles.
#[derive(Debug)]
pub struct Pattern {
    source: &'static str,
    compiled: OnceLock<regex::Regex>,
}

impl Pattern {
    /// A pattern with the text the author wrote (served as the schema's `pattern`).
    pub const fn new(source: &'static str) -> Pattern {
        Pattern {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// `re.match(pattern, text)`: a match that starts at the beginning of `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled
            .get_or_init(|| {
                regex::Regex::new(&anchored(self.source))
                    .expect("the derive checked that the pattern compiles")
            })
            .is_match(text)
    }
}

/// The pattern `re.match` semantics turn `source` into: `\A(?:source)`. `\A` is the start of
/// the text whatever flags the pattern sets (`(?m)` makes `^` match after newlines too), and the
/// group keeps an alternation (`a|b`) whole.
pub(crate) fn anchored(source: &str) -> String {
    format!("\\A(?:{source})")
}

/// The constraints of one field. Generated code builds one `static` per constrained field.
#[derive(Debug, Default)]
pub struct Constraints {
    /// `gt`: `exclusiveMinimum`.
    pub gt: Option<Limit>,
    /// `ge`: `minimum`.
    pub ge: Option<Limit>,
    /// `lt`: `exclusiveMaximum`.
    pub lt: Option<Limit>,
    /// `le`: `maximum`.
    pub le: Option<Limit>,
    /// `multiple_of`: `multipleOf`.
    pub multiple_of: Option<Limit>,
    /// `min_length`: `minLength` (characters, as Python's `len`).
    pub min_length: Option<usize>,
    /// `max_length`: `maxLength`.
    pub max_length: Option<usize>,
    /// `regex`: `pattern`.
    pub regex: Option<&'static Pattern>,
    /// `min_items`: `minItems`.
    pub min_items: Option<usize>,
    /// `max_items`: `maxItems`.
    pub max_items: Option<usize>,
}

/// No constraint at all.
pub static NO_CONSTRAINTS: Constraints = Constraints::NONE;

fn usize_json(n: usize) -> Value {
    Value::Number((n as u64).into())
}

fn put<T>(m: &mut Map<String, Value>, key: &str, v: Option<T>, json: impl Fn(T) -> Value) {
    if let Some(v) = v {
        m.insert(key.to_owned(), json(v));
    }
}

/// `v` compared with `limit`, exactly as Python compares an `int` with an `int` or a `float`.
fn cmp_int(v: i128, limit: Limit) -> Option<Ordering> {
    match limit {
        Limit::Int(l) => Some(v.cmp(&i128::from(l))),
        Limit::Float(f) if f.is_nan() => None,
        Limit::Float(f) if f >= 1e38 => Some(Ordering::Less),
        Limit::Float(f) if f <= -1e38 => Some(Ordering::Greater),
        Limit::Float(f) => {
            let floor = f.floor();
            match v.cmp(&(floor as i128)) {
                Ordering::Equal if f > floor => Some(Ordering::Less),
                other => Some(other),
            }
        }
    }
}

/// `v` compared with `limit` as Python compares a `float` (NaN is unordered).
fn cmp_float(v: f64, limit: Limit) -> Option<Ordering> {
    match limit {
        Limit::Float(l) => v.partial_cmp(&l),
        Limit::Int(_) if v.is_nan() => None,
        Limit::Int(_) if v.is_infinite() => Some(if v > 0.0 {
            Ordering::Greater
        } else {
            Ordering::Less
        }),
        Limit::Int(l) => cmp_int(i128::from(l), Limit::Float(v)).map(Ordering::reverse),
    }
}

impl Constraints {
    /// No constraint at all.
    pub const NONE: Constraints = Constraints {
        gt: None,
        ge: None,
        lt: None,
        le: None,
        multiple_of: None,
        min_length: None,
        max_length: None,
        regex: None,
        min_items: None,
        max_items: None,
    };

    /// pydantic's `number_size_validator` then `number_multiple_validator`: the first failing
    /// check is the error (`gt`/`ge`, then `lt`/`le`, then `multiple_of`).
    fn check_number(
        &self,
        cmp: impl Fn(Limit) -> Option<Ordering>,
        multiple: Option<f64>,
        validator: &mut Validator,
    ) -> bool {
        let error = if let Some(l) = self.gt.filter(|l| cmp(*l) != Some(Ordering::Greater)) {
            Some(ErrorKind::NotGt { limit: l.repr() })
        } else if let Some(l) = self
            .ge
            .filter(|l| !matches!(cmp(*l), Some(Ordering::Greater | Ordering::Equal)))
        {
            Some(ErrorKind::TooSmall { limit: l.repr() })
        } else if let Some(l) = self.lt.filter(|l| cmp(*l) != Some(Ordering::Less)) {
            Some(ErrorKind::NotLt { limit: l.repr() })
        } else if let Some(l) = self
            .le
            .filter(|l| !matches!(cmp(*l), Some(Ordering::Less | Ordering::Equal)))
        {
            Some(ErrorKind::TooLarge { limit: l.repr() })
        } else {
            let as_f64 = multiple.unwrap_or_default();
            self.multiple_of
                .filter(|_| multiple.is_some())
                .filter(|m| {
                    let rem = (as_f64 / m.as_f64()).rem_euclid(1.0);
                    !((rem - 0.0).abs() <= 1e-8 || (rem - 1.0).abs() <= 1e-8)
                })
                .map(|m| ErrorKind::NotMultiple {
                    multiple_of: m.repr(),
                })
        };
        match error {
            Some(kind) => {
                validator.error(kind);
                false
            }
            None => true,
        }
    }

    /// The bounds of an integer, on the value as Python's unbounded `int`. The Rust type's
    /// range is checked next, then [`check_int_multiple`](Constraints::check_int_multiple):
    /// as pydantic's `conint(ge=<field's bound or the type's MIN>, le=.., multiple_of=..)`.
    pub(crate) fn check_int_bounds(&self, v: i128, validator: &mut Validator) -> bool {
        self.check_number(|l| cmp_int(v, l), None, validator)
    }

    /// `multiple_of` of an integer that passed its bounds and range.
    pub(crate) fn check_int_multiple(&self, v: i128, validator: &mut Validator) -> bool {
        let nothing = Constraints {
            multiple_of: self.multiple_of,
            ..Constraints::NONE
        };
        nothing.check_number(|_| None, Some(v as f64), validator)
    }

    /// The number checks for a float.
    pub(crate) fn check_float(&self, v: f64, validator: &mut Validator) -> bool {
        self.check_number(|l| cmp_float(v, l), Some(v), validator)
    }

    /// `constr_length_validator` then the `regex` check.
    pub(crate) fn check_str(&self, s: &str, validator: &mut Validator) -> bool {
        let len = || s.chars().count();
        let error = if let Some(n) = self.min_length.filter(|n| len() < *n) {
            Some(ErrorKind::MinLength { limit: n })
        } else if let Some(n) = self.max_length.filter(|n| len() > *n) {
            Some(ErrorKind::MaxLength { limit: n })
        } else {
            self.regex
                .filter(|p| !p.is_match(s))
                .map(|p| ErrorKind::StrRegex {
                    pattern: p.source(),
                })
        };
        match error {
            Some(kind) => {
                validator.error(kind);
                false
            }
            None => true,
        }
    }

    /// `conlist`'s `list_length_validator`, which runs before the items are validated.
    pub(crate) fn check_items(&self, n: usize, validator: &mut Validator) -> bool {
        let error = if let Some(l) = self.min_items.filter(|l| n < *l) {
            Some(ErrorKind::MinItems { limit: l })
        } else {
            self.max_items
                .filter(|l| n > *l)
                .map(|l| ErrorKind::MaxItems { limit: l })
        };
        match error {
            Some(kind) => {
                validator.error(kind);
                false
            }
            None => true,
        }
    }

    /// `ConstrainedInt.__modify_schema__`'s keys, after `type`.
    pub(crate) fn number_schema(&self, m: &mut Map<String, Value>) {
        put(m, "exclusiveMinimum", self.gt, Limit::to_json);
        put(m, "exclusiveMaximum", self.lt, Limit::to_json);
        put(m, "minimum", self.ge, Limit::to_json);
        put(m, "maximum", self.le, Limit::to_json);
        put(m, "multipleOf", self.multiple_of, Limit::to_json);
    }

    /// `ConstrainedStr.__modify_schema__`'s keys, after `type`.
    pub(crate) fn str_schema(&self, m: &mut Map<String, Value>) {
        put(m, "minLength", self.min_length, usize_json);
        put(m, "maxLength", self.max_length, usize_json);
        put(m, "pattern", self.regex, |p| {
            Value::String(p.source().into())
        });
    }

    /// `ConstrainedList.__modify_schema__`'s keys, after `items`.
    pub(crate) fn items_schema(&self, m: &mut Map<String, Value>) {
        put(m, "minItems", self.min_items, usize_json);
        put(m, "maxItems", self.max_items, usize_json);
    }

    /// The keys pydantic's `get_field_schema_validations` puts on the property before the
    /// type's own keys: by the kind of pydantic's `field.type_` (number or string), then the
    /// list keys when the outer type is a list.
    pub(crate) fn property_schema(&self, kind: PyKind, outer_list: bool) -> Map<String, Value> {
        let mut m = Map::new();
        match kind {
            PyKind::Str => {
                put(&mut m, "maxLength", self.max_length, usize_json);
                put(&mut m, "minLength", self.min_length, usize_json);
                put(&mut m, "pattern", self.regex, |p| {
                    Value::String(p.source().into())
                });
            }
            PyKind::Number => {
                put(&mut m, "exclusiveMinimum", self.gt, Limit::to_json);
                put(&mut m, "exclusiveMaximum", self.lt, Limit::to_json);
                put(&mut m, "minimum", self.ge, Limit::to_json);
                put(&mut m, "maximum", self.le, Limit::to_json);
                put(&mut m, "multipleOf", self.multiple_of, Limit::to_json);
            }
            PyKind::Enum | PyKind::Other => {}
        }
        if outer_list {
            self.items_schema(&mut m);
        }
        m
    }
}

/// What pydantic sees a Rust field type as, for the schema keys that depend on it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyKind {
    /// `int` or `float`.
    Number,
    /// `str`.
    Str,
    /// An `Enum` class ([`Choice`](super::Choice) without `literal`).
    Enum,
    /// Anything else.
    Other,
}

/// Types whose numbers `ge`, `gt`, `le`, `lt` and `multiple_of` can constrain.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`ge`, `gt`, `le`, `lt` and `multiple_of` constrain numbers, and `{Self}` holds none",
    label = "number constraint on a field without numbers",
    note = "number constraints apply to integer and float fields, and to the numbers inside `Option`, `Vec`, `Box` and maps, as in pydantic; remove the constraint or change the field's type"
)]
pub trait NumberConstrained {}

/// Types whose strings `min_length`, `max_length` and `regex` can constrain.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`min_length`, `max_length` and `regex` constrain strings, and `{Self}` holds none",
    label = "string constraint on a field without strings",
    note = "string constraints apply to `String` fields, and to the strings inside `Option`, `Vec`, `Box` and maps, as in pydantic (`min_items` / `max_items` constrain lists)"
)]
pub trait StrConstrained {}

/// Types with lists that `min_items` and `max_items` can constrain.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`min_items` and `max_items` constrain lists, and `{Self}` holds none",
    label = "list constraint on a field without lists",
    note = "list constraints apply to `Vec<T>` fields, and to the lists inside `Option`, `Box` and maps, as in pydantic (`min_length` / `max_length` constrain strings)"
)]
pub trait ItemsConstrained {}

macro_rules! marker {
    ($tr:ident: $($t:ty),*) => {$(impl $tr for $t {})*};
}
marker!(NumberConstrained: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);
marker!(StrConstrained: String);

macro_rules! through_containers {
    ($($tr:ident),*) => {$(
        impl<T: $tr> $tr for Option<T> {}
        impl<T: $tr> $tr for Box<T> {}
        impl<T: $tr> $tr for Vec<T> {}
        impl<T: $tr> $tr for BTreeMap<String, T> {}
        impl<T: $tr, S> $tr for HashMap<String, T, S> {}
    )*};
}
through_containers!(NumberConstrained, StrConstrained);

impl<T> ItemsConstrained for Vec<T> {}
impl<T: ItemsConstrained> ItemsConstrained for Option<T> {}
impl<T: ItemsConstrained> ItemsConstrained for Box<T> {}
impl<T: ItemsConstrained> ItemsConstrained for BTreeMap<String, T> {}
impl<T: ItemsConstrained, S> ItemsConstrained for HashMap<String, T, S> {}

/// Compile-time check that `T` has numbers (generated next to a number constraint).
#[doc(hidden)]
pub const fn fits_number<T: NumberConstrained + ?Sized>() {}
/// Compile-time check that `T` has strings.
#[doc(hidden)]
pub const fn fits_str<T: StrConstrained + ?Sized>() {}
/// Compile-time check that `T` has lists.
#[doc(hidden)]
pub const fn fits_items<T: ItemsConstrained + ?Sized>() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_float_comparison_is_exact() {
        assert_eq!(cmp_int(1, Limit::Float(0.5)), Some(Ordering::Greater));
        assert_eq!(cmp_int(0, Limit::Float(0.5)), Some(Ordering::Less));
        assert_eq!(cmp_int(-1, Limit::Float(-0.5)), Some(Ordering::Less));
        assert_eq!(cmp_int(2, Limit::Float(2.0)), Some(Ordering::Equal));
        assert_eq!(cmp_float(f64::NAN, Limit::Int(1)), None);
        assert_eq!(cmp_float(0.5, Limit::Int(1)), Some(Ordering::Less));
        assert_eq!(
            cmp_float(f64::INFINITY, Limit::Int(1)),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn patterns_match_at_the_start_only() {
        static P: Pattern = Pattern::new("a|b");
        assert!(P.is_match("bz"));
        assert!(!P.is_match("za"));
        static M: Pattern = Pattern::new("(?m)^b");
        assert!(
            !M.is_match("a\nb"),
            "re.match does not search past the start"
        );
        static E: Pattern = Pattern::new("ab$");
        assert!(E.is_match("ab") && !E.is_match("abc"));
        // Deliberate difference 4: Python's `$` also matches before a final newline.
        assert!(!E.is_match("ab\n"));
        static A: Pattern = Pattern::new("[0-9]+");
        assert!(A.is_match("12a") && !A.is_match("a12"));
    }
}
