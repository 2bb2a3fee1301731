//! The view of an enum deriving `Choice`: its `#[choice(..)]` attributes and its variants,
//! with every mistake recorded at its token.

use std::collections::HashMap;

use syn::{Data, DeriveInput, Expr, ExprLit, ExprUnary, Fields, Ident, Lit, LitStr, UnOp};

use crate::ast::unraw;
use crate::attr::{expect_str, take_value, unknown_key};
use crate::ctxt::Ctxt;
use crate::docs::doc_text;

/// pydantic's description of an `Enum` without a docstring.
const DEFAULT_DESCRIPTION: &str = "An enumeration.";

pub(crate) const CHOICE_KEYS: &str = "`literal`, `rename`, `description`, `crate`";
pub(crate) const VARIANT_KEYS: &str = "`rename`";

/// A member's value.
pub(crate) enum Value {
    Str(String),
    Int(i64),
}

pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    /// The Python member name: the variant's name without `r#`.
    pub(crate) name: String,
    pub(crate) value: Value,
}

pub(crate) struct ChoiceEnum<'a> {
    pub(crate) ident: &'a Ident,
    /// Definition name and title: `#[choice(rename)]` or the enum's name.
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) literal: bool,
    pub(crate) krate: Option<syn::Path>,
    pub(crate) variants: Vec<Variant<'a>>,
}

#[derive(Default)]
struct ContainerAttrs {
    literal: Option<Ident>,
    rename: Option<LitStr>,
    description: Option<LitStr>,
    krate: Option<syn::Path>,
}

fn take_str(
    cx: &Ctxt,
    meta: &syn::meta::ParseNestedMeta<'_>,
    what: &str,
) -> syn::Result<Option<LitStr>> {
    Ok(expect_str(cx, take_value(meta)?, what))
}

fn duplicate(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>, given: bool, key: &str) -> bool {
    if given {
        cx.syn_error(meta.error(format_args!("duplicate `{key}` argument; give it once")));
    }
    given
}

fn container_attrs(cx: &Ctxt, input: &DeriveInput) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("choice")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("literal") {
                if !duplicate(cx, &meta, out.literal.is_some(), "literal") {
                    out.literal = meta.path.get_ident().cloned();
                }
            } else if meta.path.is_ident("rename") {
                let lit = take_str(
                    cx,
                    &meta,
                    "`rename` must be a string literal, e.g. `rename = \"Action\"`",
                )?;
                if !duplicate(cx, &meta, out.rename.is_some(), "rename") {
                    out.rename = lit;
                }
            } else if meta.path.is_ident("description") {
                let lit = take_str(cx, &meta, "`description` must be a string literal")?;
                if !duplicate(cx, &meta, out.description.is_some(), "description") {
                    out.description = lit;
                }
            } else if meta.path.is_ident("crate") {
                let lit = take_str(
                    cx,
                    &meta,
                    "`crate` must be a string literal path, e.g. `crate = \"my_kit\"`",
                )?;
                let path = lit.and_then(|l| match l.parse::<syn::Path>() {
                    Ok(p) => Some(p),
                    Err(_) => {
                        cx.error_spanned_by(
                            &l,
                            "`crate` must name a path, e.g. `crate = \"my_kit\"`",
                        );
                        None
                    }
                });
                if !duplicate(cx, &meta, out.krate.is_some(), "crate") {
                    out.krate = path;
                }
            } else {
                unknown_key(cx, &meta, "choice attribute", CHOICE_KEYS)?;
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    out
}

fn variant_rename(cx: &Ctxt, variant: &syn::Variant) -> Option<LitStr> {
    let mut rename: Option<LitStr> = None;
    let mut given = false;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("choice")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit = take_str(
                    cx,
                    &meta,
                    "`rename` must be a string literal, e.g. `rename = \"start\"`",
                )?;
                if !duplicate(cx, &meta, given, "rename") {
                    given = true;
                    rename = lit;
                }
            } else {
                unknown_key(cx, &meta, "variant attribute", VARIANT_KEYS)?;
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    rename
}

/// An integer discriminant literal, optionally negative.
fn discriminant(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().ok(),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => discriminant(expr).map(|v: i64| -v),
        Expr::Group(g) => discriminant(&g.expr),
        _ => None,
    }
}

impl<'a> ChoiceEnum<'a> {
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<ChoiceEnum<'a>> {
        let attrs = container_attrs(cx, input);
        let data = match &input.data {
            Data::Enum(data) => data,
            Data::Struct(s) => {
                cx.error_spanned_by(
                    s.struct_token,
                    "#[derive(Choice)] goes on an enum of unit variants, e.g. `enum Action { Start, Stop }`; \
                     for a struct use #[derive(Inputs)], #[derive(ContextInputs)] or #[derive(Outputs)]",
                );
                return None;
            }
            Data::Union(u) => {
                cx.error_spanned_by(
                    u.union_token,
                    "#[derive(Choice)] goes on an enum of unit variants, not a union",
                );
                return None;
            }
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "#[derive(Choice)] does not support generic enums: the allowed values must be fixed",
            );
        }
        if data.variants.is_empty() {
            cx.error_spanned_by(
                &input.ident,
                "#[derive(Choice)] needs at least one variant: an enum without values accepts nothing",
            );
        }
        if let Some(literal) = &attrs.literal {
            for (given, key) in [
                (attrs.rename.is_some(), "rename"),
                (attrs.description.is_some(), "description"),
            ] {
                if given {
                    cx.error_spanned_by(
                        literal,
                        format_args!(
                            "`literal` choices are inlined (pydantic's `Literal[..]`) and have no definition, so `{key}` does not apply; remove one of them"
                        ),
                    );
                }
            }
        }
        let int = data
            .variants
            .first()
            .is_some_and(|v| v.discriminant.is_some());
        let mut variants = Vec::new();
        let mut seen: HashMap<String, &Ident> = HashMap::new();
        for variant in &data.variants {
            if !matches!(variant.fields, Fields::Unit) {
                cx.error_spanned_by(
                    &variant.fields,
                    format_args!(
                        "#[derive(Choice)] variants carry no data: write `{}` alone (each variant is one allowed value)",
                        variant.ident
                    ),
                );
                continue;
            }
            let rename = variant_rename(cx, variant);
            let value = match (&variant.discriminant, int) {
                (Some((_, expr)), true) => {
                    if let Some(r) = &rename {
                        cx.error_spanned_by(
                            r,
                            "`rename` gives a string value, and this enum's values are its integer discriminants; remove `rename` or the discriminants",
                        );
                    }
                    match discriminant(expr) {
                        Some(v) => Value::Int(v),
                        None => {
                            cx.error_spanned_by(
                                expr,
                                "a Choice discriminant must be an integer literal, e.g. `Low = 1`",
                            );
                            continue;
                        }
                    }
                }
                (None, false) => Value::Str(
                    rename
                        .as_ref()
                        .map(LitStr::value)
                        .unwrap_or_else(|| unraw(&variant.ident)),
                ),
                (_, _) => {
                    cx.error_spanned_by(
                        &variant.ident,
                        "give every variant an integer discriminant (`Low = 1`, an integer choice) or none (a string choice, valued by the variant name or its `#[choice(rename)]`)",
                    );
                    continue;
                }
            };
            let text = match &value {
                Value::Str(s) => format!("{s:?}"),
                Value::Int(i) => i.to_string(),
            };
            if let Some(first) = seen.insert(text.clone(), &variant.ident) {
                cx.error_spanned_by(
                    &variant.ident,
                    format_args!(
                        "variants `{first}` and `{}` have the same value {text}; give each a distinct value",
                        variant.ident
                    ),
                );
            }
            variants.push(Variant {
                ident: &variant.ident,
                name: unraw(&variant.ident),
                value,
            });
        }
        let description = match &attrs.description {
            Some(lit) => Some(lit.value()),
            None => doc_text(&input.attrs),
        }
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| DEFAULT_DESCRIPTION.to_owned());
        Some(ChoiceEnum {
            ident: &input.ident,
            name: attrs
                .rename
                .as_ref()
                .map(LitStr::value)
                .unwrap_or_else(|| unraw(&input.ident)),
            description,
            literal: attrs.literal.is_some(),
            krate: attrs.krate,
            variants,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{ChoiceEnum, Value};
    use crate::ctxt::Ctxt;
    use syn::parse_quote;

    #[test]
    fn integer_discriminants_may_be_negative() {
        let input: syn::DeriveInput = parse_quote! {
            enum Level { Low = -1, Mid = 0, High = 7 }
        };
        let cx = Ctxt::new();
        let choice = ChoiceEnum::from_ast(&cx, &input).expect("an enum");
        cx.finish().expect("valid");
        let values: Vec<i64> = choice
            .variants
            .iter()
            .map(|v| match v.value {
                Value::Int(i) => i,
                Value::Str(_) => panic!("integer choice"),
            })
            .collect();
        assert_eq!(values, [-1, 0, 7]);
        assert_eq!(choice.description, "An enumeration.");
    }
}
