//! The constraint keys of `#[field(..)]`: `ge`, `gt`, `le`, `lt`, `multiple_of` (numbers),
//! `min_length`, `max_length`, `regex` (strings), `min_items`, `max_items` (lists). Parsed and
//! checked here; whether they fit the field's type is checked by the compiler (traits in core).

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote;
use syn::{Ident, Lit, LitStr};

use crate::ctxt::Ctxt;

/// The keys, in the order the error messages list them.
pub(crate) const CONSTRAINT_KEYS: [&str; 10] = [
    "ge",
    "gt",
    "le",
    "lt",
    "multiple_of",
    "min_length",
    "max_length",
    "regex",
    "min_items",
    "max_items",
];

/// A number limit as written: an integer or a float literal, with an optional `-`.
#[derive(Clone, Copy)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
}

/// What a constraint applies to, which decides the compile-time fit check.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Number,
    Str,
    Items,
}

/// One constraint key with its value and where it was written.
pub(crate) struct Constraint {
    pub(crate) key: Ident,
    pub(crate) value: Value,
}

pub(crate) enum Value {
    Number(Number),
    Count(usize),
    Regex(LitStr),
}

impl Constraint {
    pub(crate) fn target(&self) -> Target {
        match self.key.to_string().as_str() {
            "min_length" | "max_length" | "regex" => Target::Str,
            "min_items" | "max_items" => Target::Items,
            _ => Target::Number,
        }
    }
}

/// The constraints of one field, in the order written.
#[derive(Default)]
pub(crate) struct FieldConstraints(pub(crate) Vec<Constraint>);

impl FieldConstraints {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn number(cx: &Ctxt, key: &Ident, tokens: TokenStream) -> Option<Number> {
    let mut iter = tokens.clone().into_iter().peekable();
    let negative = matches!(iter.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '-');
    if negative {
        iter.next();
    }
    let rest: TokenStream = iter.collect();
    let parsed = match syn::parse2::<Lit>(rest) {
        Ok(Lit::Int(i)) => i
            .base10_parse::<i64>()
            .ok()
            .map(|v| Number::Int(if negative { -v } else { v })),
        Ok(Lit::Float(f)) => f
            .base10_parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(|v| Number::Float(if negative { -v } else { v })),
        _ => None,
    };
    if parsed.is_none() {
        cx.error_spanned_by(
            tokens,
            format_args!(
                "`{key}` must be a number literal (an integer such as `{key} = 1`, or a float such as `{key} = 0.5`)"
            ),
        );
    }
    parsed
}

fn count(cx: &Ctxt, key: &Ident, tokens: TokenStream) -> Option<usize> {
    let parsed = match syn::parse2::<Lit>(tokens.clone()) {
        Ok(Lit::Int(i)) => i.base10_parse::<usize>().ok(),
        _ => None,
    };
    if parsed.is_none() {
        cx.error_spanned_by(
            tokens,
            format_args!("`{key}` must be a non-negative integer literal, e.g. `{key} = 3`"),
        );
    }
    parsed
}

/// Python's `re.match` anchoring, as core applies it at run time
/// (`bk_plugin_core::model::constraints::anchored`): the pattern must compile in that form.
fn anchored(source: &str) -> String {
    format!("\\A(?:{source})")
}

fn regex(cx: &Ctxt, tokens: TokenStream) -> Option<LitStr> {
    let Ok(lit) = syn::parse2::<LitStr>(tokens.clone()) else {
        cx.error_spanned_by(
            tokens,
            "`regex` must be a string literal, e.g. `regex = \"^[a-z]+$\"`",
        );
        return None;
    };
    match regex::Regex::new(&anchored(&lit.value())) {
        Ok(_) => Some(lit),
        Err(err) => {
            cx.error_spanned_by(
                &lit,
                format_args!(
                    "`regex` does not compile with the Rust `regex` crate, which has no look-around \
                     and no backreferences (Python's `re` has both); rewrite the pattern without them:\n{err}"
                ),
            );
            None
        }
    }
}

/// Parses the value of constraint `key` (one of [`CONSTRAINT_KEYS`]).
pub(crate) fn parse(cx: &Ctxt, key: &Ident, tokens: TokenStream) -> Option<Constraint> {
    let value = match key.to_string().as_str() {
        "min_length" | "max_length" | "min_items" | "max_items" => {
            Value::Count(count(cx, key, tokens)?)
        }
        "regex" => Value::Regex(regex(cx, tokens)?),
        "multiple_of" => {
            let n = number(cx, key, tokens.clone())?;
            let positive = match n {
                Number::Int(i) => i > 0,
                Number::Float(f) => f > 0.0,
            };
            if !positive {
                cx.error_spanned_by(tokens, "`multiple_of` must be greater than 0");
                return None;
            }
            Value::Number(n)
        }
        _ => Value::Number(number(cx, key, tokens)?),
    };
    Some(Constraint {
        key: key.clone(),
        value,
    })
}

/// pydantic's `ConfigError: bounds gt and ge cannot be specified at the same time` (and `lt`
/// with `le`), as a compile error on the second key.
pub(crate) fn validate(cx: &Ctxt, constraints: &FieldConstraints) {
    for (a, b) in [("gt", "ge"), ("lt", "le")] {
        let position = |k: &str| constraints.0.iter().position(|c| c.key == k);
        if let (Some(i), Some(j)) = (position(a), position(b)) {
            let later = &constraints.0[i.max(j)];
            cx.error_spanned_by(
                &later.key,
                format_args!(
                    "`{a}` and `{b}` cannot both be given (pydantic refuses them too); keep one bound"
                ),
            );
        }
    }
}

fn number_tokens(n: Number) -> TokenStream {
    match n {
        Number::Int(i) => quote!(Int(#i)),
        Number::Float(f) => quote!(Float(#f)),
    }
}

/// The `static` items of one field: its pattern (if any) and its `Constraints`, plus one
/// compile-time fit check per key, spanned at the key. Returns the items and the expression
/// naming the constraints.
pub(crate) fn expand(
    p: &TokenStream,
    ty: &syn::Type,
    index: usize,
    constraints: &FieldConstraints,
) -> (TokenStream, TokenStream) {
    if constraints.is_empty() {
        return (quote!(), quote!(&#p::NO_CONSTRAINTS));
    }
    let name = quote::format_ident!("__BK_CONSTRAINTS_{}", index);
    let pattern = quote::format_ident!("__BK_PATTERN_{}", index);
    let mut items = TokenStream::new();
    let mut fields = Vec::new();
    for c in &constraints.0 {
        let key = &c.key;
        match &c.value {
            Value::Number(n) => {
                let n = number_tokens(*n);
                fields.push(quote!(#key: ::core::option::Option::Some(#p::Limit::#n)));
            }
            Value::Count(n) => fields.push(quote!(#key: ::core::option::Option::Some(#n))),
            Value::Regex(lit) => {
                items.extend(quote! {
                    static #pattern: #p::Pattern = #p::Pattern::new(#lit);
                });
                fields.push(quote!(#key: ::core::option::Option::Some(&#pattern)));
            }
        }
        let check = match c.target() {
            Target::Number => quote!(fits_number),
            Target::Str => quote!(fits_str),
            Target::Items => quote!(fits_items),
        };
        // The alias carries the key's span, so an unfitting constraint is reported there.
        let alias = Ident::new("__BkConstrained", key.span());
        let span: Span = key.span();
        items.extend(quote::quote_spanned! {span=>
            const _: () = {
                type #alias = #ty;
                #p::#check::<#alias>()
            };
        });
    }
    items.extend(quote! {
        static #name: #p::Constraints = #p::Constraints {
            #(#fields,)*
            ..#p::Constraints::NONE
        };
    });
    (items, quote!(&#name))
}

#[cfg(test)]
mod tests {
    use super::anchored;

    fn compiles(pattern: &str) -> bool {
        regex::Regex::new(&anchored(pattern)).is_ok()
    }

    #[test]
    fn python_only_syntax_is_refused() {
        for pattern in ["^(?!admin)", "(?<=a)b", r"(a)\1", r"a\Z"] {
            assert!(!compiles(pattern), "{pattern} should not compile");
        }
        // `a++` is possessive in Python 3.11 and a repeated repetition here (docs/coercion.md).
        for pattern in ["^[a-z]+$", "a|b", "(?i)abc", r"(?P<n>\d+)", r"\Aa", "a++"] {
            assert!(compiles(pattern), "{pattern} should compile");
        }
    }
}
