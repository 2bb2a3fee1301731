//! `#[field(form = {..})]`: the field's part of the Python framework's `InputsForm`, a JSON
//! object of `ui:*` keys merged into the field's property of `detail.inputs`.
//!
//! The value is JSON written as Rust tokens (`{"ui:rules": ["required"], "ui:props": {"max":
//! 3}}`), read here into a [`Json`] tree that keeps every span, checked, and expanded into code
//! that builds the same `serde_json` value.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::quote;
use syn::LitStr;

use crate::ctxt::Ctxt;

const NOT_AN_OBJECT: &str = "`form` must be a JSON object of form keys, e.g. `form = {\"ui:component\": {\"name\": \"bk-input\"}}` (the field's entry of the Python `InputsForm`)";

const NOT_A_VALUE: &str =
    "expected a JSON value: a string, a number, `true`, `false`, `null`, `[..]` or `{..}`";

const KEY_NOT_A_STRING: &str =
    "JSON object keys are string literals: write the key in quotes, e.g. `\"ui:component\"`";

const NOT_A_FORM_KEY: &str = "is not a form key: form keys start with `ui:` (`ui:component`, `ui:props`, `ui:rules`, …); the field's schema keys come from its type and `#[field(..)]`";

/// A JSON value as written in the attribute.
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// A negative integer.
    Neg(i64),
    /// A non-negative integer.
    Pos(u64),
    Float(f64),
    Str(LitStr),
    Array(Vec<Json>),
    Object(Vec<(LitStr, Json)>),
}

/// A field's `form = {..}`: the `form` key's span (for errors about where it is given) and
/// the object's entries, in order.
pub(crate) struct FieldForm {
    pub(crate) span: Span,
    pub(crate) entries: Vec<(LitStr, Json)>,
}

/// Reads `form = <tokens>`, recording every mistake; `None` if the value is not usable.
pub(crate) fn parse(cx: &Ctxt, span: Span, tokens: TokenStream) -> Option<FieldForm> {
    let mut iter = tokens.clone().into_iter().peekable();
    let value = match value(&mut iter) {
        Ok(v) => v,
        Err(err) => {
            cx.syn_error(err);
            return None;
        }
    };
    let entries = match (value, iter.next()) {
        (Json::Object(entries), None) => entries,
        _ => {
            cx.error_spanned_by(tokens, NOT_AN_OBJECT);
            return None;
        }
    };
    let mut ok = true;
    for (key, _) in &entries {
        if let Some(why) = not_a_form_key(&key.value()) {
            cx.error_spanned_by(key, why);
            ok = false;
        }
    }
    ok.then_some(FieldForm { span, entries })
}

/// Why `key` cannot be a form key, or `None` if it is one.
fn not_a_form_key(key: &str) -> Option<String> {
    let fix = match key {
        "title" => "set it with `#[field(title = \"…\")]`",
        "description" => "set it with `#[field(description = \"…\")]` or a doc comment",
        "default" => {
            "give the field `#[field(default = …)]`, so the default the form shows is the one validation fills in"
        }
        _ => match key.strip_prefix("ui:") {
            Some("") => {
                return Some("`ui:` needs a name after the colon, e.g. `ui:component`".into());
            }
            Some(_) => return None,
            None => return Some(format!("`{key}` {NOT_A_FORM_KEY}")),
        },
    };
    Some(format!(
        "`{key}` is a schema key, which a form does not change: {fix} (the Python framework's \
         `dict.update` would overwrite it in the schema only)"
    ))
}

type Tokens = std::iter::Peekable<proc_macro2::token_stream::IntoIter>;

fn value(iter: &mut Tokens) -> syn::Result<Json> {
    let Some(tt) = iter.next() else {
        return Err(syn::Error::new(Span::call_site(), NOT_A_VALUE));
    };
    match &tt {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => object(g.stream(), g.span()),
        TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket => array(g.stream()),
        TokenTree::Ident(i) => match i.to_string().as_str() {
            "true" => Ok(Json::Bool(true)),
            "false" => Ok(Json::Bool(false)),
            "null" => Ok(Json::Null),
            "True" | "False" | "None" => Err(syn::Error::new(
                i.span(),
                format_args!("`{i}` is Python; JSON writes `true`, `false` and `null`"),
            )),
            _ => Err(syn::Error::new(
                i.span(),
                format_args!(
                    "{NOT_A_VALUE}; a form is written out in full, without Rust names or expressions"
                ),
            )),
        },
        TokenTree::Punct(p) if p.as_char() == '-' => match iter.next() {
            Some(TokenTree::Literal(lit)) => number(&lit, true),
            _ => Err(syn::Error::new(p.span(), "expected a number after `-`")),
        },
        TokenTree::Literal(lit) => match syn::Lit::new(lit.clone()) {
            syn::Lit::Str(s) if s.suffix().is_empty() => Ok(Json::Str(s)),
            syn::Lit::Int(_) | syn::Lit::Float(_) => number(lit, false),
            _ => Err(syn::Error::new(lit.span(), NOT_A_VALUE)),
        },
        _ => Err(syn::Error::new_spanned(&tt, NOT_A_VALUE)),
    }
}

/// A JSON number: decimal digits, an optional fraction and exponent, no Rust suffix or `_`.
fn number(lit: &proc_macro2::Literal, negative: bool) -> syn::Result<Json> {
    let text = lit.to_string();
    let bad = |why: &str| Err(syn::Error::new(lit.span(), format_args!("`{text}` {why}")));
    if !is_json_number(&text) {
        return bad(
            "is not a JSON number: write decimal digits with an optional fraction and exponent, e.g. `3`, `1.5`, `2e3`, without a type suffix or `_`",
        );
    }
    let is_int = text.bytes().all(|b| b.is_ascii_digit());
    if is_int {
        let parsed = if negative {
            format!("-{text}").parse::<i64>().map(Json::Neg).ok()
        } else {
            text.parse::<u64>().map(Json::Pos).ok()
        };
        parsed.map_or_else(|| bad("does not fit in 64 bits"), Ok)
    } else {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Json::Float(if negative { -f } else { f })),
            _ => bad("is out of range for a 64-bit float"),
        }
    }
}

fn is_json_number(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// Reads `sep` (a `,`) between items or the end; `false` at the end.
fn separator(iter: &mut Tokens, what: &str) -> syn::Result<bool> {
    match iter.next() {
        None => Ok(false),
        Some(TokenTree::Punct(p)) if p.as_char() == ',' => Ok(iter.peek().is_some()),
        Some(tt) => Err(syn::Error::new_spanned(
            tt,
            format_args!("expected `,` between the {what}"),
        )),
    }
}

fn array(stream: TokenStream) -> syn::Result<Json> {
    let mut iter = stream.into_iter().peekable();
    let mut items = Vec::new();
    if iter.peek().is_some() {
        loop {
            items.push(value(&mut iter)?);
            if !separator(&mut iter, "items of a list")? {
                break;
            }
        }
    }
    Ok(Json::Array(items))
}

fn object(stream: TokenStream, span: Span) -> syn::Result<Json> {
    let mut iter = stream.into_iter().peekable();
    let mut entries: Vec<(LitStr, Json)> = Vec::new();
    if iter.peek().is_none() {
        return Ok(Json::Object(entries));
    }
    loop {
        let key = match iter.next() {
            Some(TokenTree::Literal(lit)) => match syn::Lit::new(lit.clone()) {
                syn::Lit::Str(s) if s.suffix().is_empty() => s,
                _ => return Err(syn::Error::new(lit.span(), KEY_NOT_A_STRING)),
            },
            Some(tt) => return Err(syn::Error::new_spanned(tt, KEY_NOT_A_STRING)),
            None => return Err(syn::Error::new(span, KEY_NOT_A_STRING)),
        };
        match iter.next() {
            Some(TokenTree::Punct(p)) if p.as_char() == ':' => {}
            _ => {
                return Err(syn::Error::new(
                    key.span(),
                    format_args!("expected `:` and a value after the key \"{}\"", key.value()),
                ));
            }
        }
        let v = value(&mut iter)?;
        if entries.iter().any(|(k, _)| k.value() == key.value()) {
            return Err(syn::Error::new(
                key.span(),
                format_args!(
                    "duplicate key \"{}\" in this JSON object; give it once",
                    key.value()
                ),
            ));
        }
        entries.push((key, v));
        if !separator(&mut iter, "entries of an object")? {
            break;
        }
    }
    Ok(Json::Object(entries))
}

/// `schema.merge_form(key, <the object>)` for the field's `describe` code.
pub(crate) fn expand(p: &TokenStream, key: &str, form: &FieldForm) -> TokenStream {
    let object = object_tokens(p, &form.entries);
    quote! { schema.merge_form(#key, #object); }
}

fn object_tokens(p: &TokenStream, entries: &[(LitStr, Json)]) -> TokenStream {
    let inserts = entries.iter().map(|(k, v)| {
        let v = value_tokens(p, v);
        quote! { object.insert(::std::string::String::from(#k), #v); }
    });
    quote! {{
        let mut object = #p::Map::new();
        #(#inserts)*
        object
    }}
}

fn value_tokens(p: &TokenStream, value: &Json) -> TokenStream {
    match value {
        Json::Null => quote!(#p::Value::Null),
        Json::Bool(b) => quote!(#p::Value::Bool(#b)),
        Json::Neg(n) => quote!(#p::Value::from(#n)),
        Json::Pos(n) => quote!(#p::Value::from(#n)),
        Json::Float(f) => quote!(#p::Value::from(#f)),
        Json::Str(s) => quote!(#p::Value::String(::std::string::String::from(#s))),
        Json::Array(items) => {
            let items = items.iter().map(|v| value_tokens(p, v));
            quote!(#p::Value::Array(::std::vec![#(#items),*]))
        }
        Json::Object(entries) => {
            let object = object_tokens(p, entries);
            quote!(#p::Value::Object(#object))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(tokens: TokenStream) -> Result<usize, String> {
        let cx = Ctxt::new();
        let form = parse(&cx, Span::call_site(), tokens);
        match cx.finish() {
            Ok(()) => Ok(form.map(|f| f.entries.len()).unwrap_or_default()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn reads_json_objects() {
        let n = parse_ok(quote!({
            "ui:component": {"name": "bk-input", "props": {"n": -2, "x": 1.5e3, "on": true}},
            "ui:rules": ["required", null, [], {}],
        }));
        assert_eq!(n, Ok(2));
        assert_eq!(parse_ok(quote!({})), Ok(0));
    }

    #[test]
    fn says_what_is_wrong() {
        let err = |t| parse_ok(t).unwrap_err();
        assert!(err(quote!(["ui:rules"])).contains("must be a JSON object"));
        assert!(err(quote!({"title": "x"})).contains("`#[field(title"));
        assert!(err(quote!({"ui_component": 1})).contains("start with `ui:`"));
        assert!(err(quote!({"ui:": 1})).contains("needs a name"));
        assert!(err(quote!({"ui:a": 1, "ui:a": 2})).contains("duplicate key \"ui:a\""));
        assert!(err(quote!({"ui:a": {"b": 1, "b": 2}})).contains("duplicate key \"b\""));
        assert!(err(quote!({ui_a: 1})).contains("string literals"));
        assert!(err(quote!({"ui:a" 1})).contains("expected `:`"));
        assert!(err(quote!({"ui:a": 1 "ui:b": 2})).contains("expected `,`"));
        assert!(err(quote!({"ui:a": 1u8})).contains("not a JSON number"));
        assert!(err(quote!({"ui:a": 0x10})).contains("not a JSON number"));
        assert!(err(quote!({"ui:a": True})).contains("is Python"));
        assert!(err(quote!({"ui:a": some_const})).contains("without Rust names"));
        assert!(err(quote!({"ui:a": 'c'})).contains("expected a JSON value"));
    }

    #[test]
    fn json_numbers() {
        for ok in ["0", "12", "1.5", "1e3", "1.5E-3", "2e+2"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["1.", ".5", "1_000", "1u8", "0x10", "1e", "1.5f64"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
