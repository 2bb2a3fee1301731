//! Parsing of the helper attributes: `#[plugin(..)]` arguments, `#[field(..)]`, `#[model(..)]`.
//!
//! Parsers record every mistake in the [`Ctxt`] (at the offending key or value) and keep going,
//! so the user sees all of them at once.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Attribute, LitBool, LitStr, Token};

use crate::constraints::{self, CONSTRAINT_KEYS, FieldConstraints};
use crate::ctxt::Ctxt;
use crate::form::FieldForm;

/// Reads the tokens of `key = <value>` up to the next top-level comma.
///
/// Values are kept as raw tokens so that a wrong kind of value (`version = 1.0`) can be
/// reported on the value itself, and so that `default = <expr>` accepts any expression
/// without syn's `full` feature.
pub(crate) fn take_value(meta: &ParseNestedMeta<'_>) -> syn::Result<TokenStream> {
    let input = meta.value()?;
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        let tt: TokenTree = input.parse()?;
        tokens.extend(std::iter::once(tt));
    }
    if tokens.is_empty() {
        return Err(meta.error("expected a value after `=`"));
    }
    Ok(tokens)
}

fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| meta.path.to_token_stream().to_string().replace(' ', ""))
}

/// Parses `tokens` as a string literal or records `what` at them.
/// Reports an unknown key of an attribute (`what`, e.g. `plugin argument`) with the keys it
/// takes, and skips the key's value, if any, so the keys after it are still checked.
pub(crate) fn unknown_key(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    what: &str,
    keys: &str,
) -> syn::Result<()> {
    cx.syn_error(meta.error(format_args!(
        "unknown {what} `{}`; expected one of: {keys}",
        key_name(meta)
    )));
    if meta.input.peek(Token![=]) {
        take_value(meta)?;
    }
    Ok(())
}

pub(crate) fn expect_str(cx: &Ctxt, tokens: TokenStream, what: &str) -> Option<LitStr> {
    match syn::parse2::<LitStr>(tokens.clone()) {
        Ok(lit) => Some(lit),
        Err(_) => {
            cx.error_spanned_by(tokens, what);
            None
        }
    }
}

/// The keys already given in one attribute list, so a repeated key is reported even when
/// its first value was invalid.
#[derive(Default)]
pub(crate) struct Seen(Vec<String>);

impl Seen {
    /// `false` (after recording an error at the second key) if `meta`'s key was seen before.
    fn first(&mut self, cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> bool {
        let key = key_name(meta);
        if self.0.contains(&key) {
            cx.syn_error(meta.error(format_args!("duplicate `{key}` argument; give it once")));
            false
        } else {
            self.0.push(key);
            true
        }
    }
}

/// Stores `value` unless the key was already given (then the repeat is reported).
fn set_once<T>(
    cx: &Ctxt,
    seen: &mut Seen,
    meta: &ParseNestedMeta<'_>,
    slot: &mut Option<T>,
    value: Option<T>,
) {
    if seen.first(cx, meta)
        && let Some(v) = value
    {
        *slot = Some(v);
    }
}

/// The arguments of `#[plugin(..)]`.
#[derive(Default)]
pub(crate) struct PluginArgs {
    /// `true` once a `version` key was seen, even with an invalid value.
    pub(crate) version_given: bool,
    pub(crate) version: Option<LitStr>,
    pub(crate) desc: Option<LitStr>,
    pub(crate) enable_plugin_callback: Option<LitBool>,
    pub(crate) form: Option<LitStr>,
    pub(crate) init: Option<syn::Path>,
    pub(crate) krate: Option<syn::Path>,
    pub(crate) timeout: Option<LitStr>,
    pub(crate) cancellable: Option<LitBool>,
    pub(crate) deprecated: Option<LitStr>,
}

pub(crate) const PLUGIN_KEYS: &str = "`version`, `desc`, `enable_plugin_callback`, `form`, `init`, `timeout`, `cancellable`, `deprecated`, `crate`";

const TIMEOUT_NOT_A_STRING: &str =
    "`timeout` must be a string literal duration, e.g. `timeout = \"7d\"` or `timeout = \"1h30m\"`";

const DEPRECATED_NOT_A_STRING: &str = "`deprecated` must be a string literal telling callers what to use instead, e.g. `deprecated = \"use 2.0.0: it takes the new task form\"`";

impl PluginArgs {
    pub(crate) fn parse(cx: &Ctxt, args: TokenStream) -> PluginArgs {
        let mut out = PluginArgs::default();
        let mut seen = Seen::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("version") {
                out.version_given = true;
                let tokens = take_value(&meta)?;
                let lit = expect_str(
                    cx,
                    tokens,
                    "`version` must be a string literal, e.g. `version = \"1.0.0\"`",
                );
                set_once(cx, &mut seen, &meta, &mut out.version, lit);
            } else if meta.path.is_ident("desc") {
                let tokens = take_value(&meta)?;
                let lit = expect_str(
                    cx,
                    tokens,
                    "`desc` must be a string literal, e.g. `desc = \"Creates a task\"`",
                );
                set_once(cx, &mut seen, &meta, &mut out.desc, lit);
            } else if meta.path.is_ident("enable_plugin_callback") {
                let lit = take_bool(
                    cx,
                    &meta,
                    "`enable_plugin_callback` must be `true` or `false`",
                )?;
                set_once(cx, &mut seen, &meta, &mut out.enable_plugin_callback, lit);
            } else if meta.path.is_ident("cancellable") {
                // A bare `cancellable` means `cancellable = true`.
                let lit = if meta.input.peek(Token![=]) {
                    take_bool(
                        cx,
                        &meta,
                        "`cancellable` must be `true` or `false`, or given alone: `#[plugin(version = \"1.0.0\", cancellable)]`",
                    )?
                } else {
                    Some(LitBool::new(true, meta.path.span()))
                };
                set_once(cx, &mut seen, &meta, &mut out.cancellable, lit);
            } else if meta.path.is_ident("form") {
                let tokens = take_value(&meta)?;
                let lit = expect_str(
                    cx,
                    tokens,
                    "`form` must be a string literal path relative to Cargo.toml, e.g. `form = \"forms/1.0.0/form.js\"`",
                );
                set_once(cx, &mut seen, &meta, &mut out.form, lit);
            } else if meta.path.is_ident("init") {
                let tokens = take_value(&meta)?;
                let path = match syn::parse2::<syn::Path>(tokens.clone()) {
                    Ok(p) => Some(p),
                    Err(_) => {
                        cx.error_spanned_by(
                            tokens,
                            "`init` must name a function `fn() -> Result<Self, E>`, e.g. `init = Self::from_env`",
                        );
                        None
                    }
                };
                set_once(cx, &mut seen, &meta, &mut out.init, path);
            } else if meta.path.is_ident("timeout") {
                let tokens = take_value(&meta)?;
                let lit = expect_str(cx, tokens, TIMEOUT_NOT_A_STRING);
                set_once(cx, &mut seen, &meta, &mut out.timeout, lit);
            } else if meta.path.is_ident("deprecated") {
                let tokens = take_value(&meta)?;
                let lit = expect_str(cx, tokens, DEPRECATED_NOT_A_STRING);
                set_once(cx, &mut seen, &meta, &mut out.deprecated, lit);
            } else if meta.path.is_ident("crate") {
                let tokens = take_value(&meta)?;
                let path = parse_crate_path(cx, tokens);
                set_once(cx, &mut seen, &meta, &mut out.krate, path);
            } else {
                unknown_key(cx, &meta, "plugin argument", PLUGIN_KEYS)?;
            }
            Ok(())
        });
        if let Err(err) = parser.parse2(args) {
            cx.syn_error(err);
        }
        out
    }
}

/// Reads `key = true|false`, recording `what` at any other value.
fn take_bool(cx: &Ctxt, meta: &ParseNestedMeta<'_>, what: &str) -> syn::Result<Option<LitBool>> {
    let tokens = take_value(meta)?;
    Ok(match syn::parse2::<LitBool>(tokens.clone()) {
        Ok(b) => Some(b),
        Err(_) => {
            cx.error_spanned_by(tokens, what);
            None
        }
    })
}

fn parse_crate_path(cx: &Ctxt, tokens: TokenStream) -> Option<syn::Path> {
    let lit = expect_str(
        cx,
        tokens,
        "`crate` must be a string literal path, e.g. `crate = \"my_kit\"`",
    )?;
    match lit.parse::<syn::Path>() {
        Ok(p) => Some(p),
        Err(_) => {
            cx.error_spanned_by(&lit, "`crate` must name a path, e.g. `crate = \"my_kit\"`");
            None
        }
    }
}

/// `#[field(default)]` or `#[field(default = expr)]`.
pub(crate) enum DefaultValue {
    /// `Default::default()`
    Trait(proc_macro2::Span),
    /// The expression's tokens.
    Expr(TokenStream),
}

/// The attributes of one model field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) title: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) default: Option<DefaultValue>,
    pub(crate) rename: Option<LitStr>,
    pub(crate) form: Option<FieldForm>,
    pub(crate) constraints: FieldConstraints,
}

pub(crate) const FIELD_KEYS: &str = "`title`, `description`, `default`, `rename`, `form`, `ge`, `gt`, \
    `le`, `lt`, `multiple_of`, `min_length`, `max_length`, `regex`, `min_items`, `max_items`";

impl FieldAttrs {
    pub(crate) fn parse(cx: &Ctxt, attrs: &[Attribute]) -> FieldAttrs {
        let mut out = FieldAttrs::default();
        let mut seen = Seen::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("field")) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("title") {
                    let lit =
                        expect_str(cx, take_value(&meta)?, "`title` must be a string literal");
                    set_once(cx, &mut seen, &meta, &mut out.title, lit);
                } else if meta.path.is_ident("description") {
                    let lit = expect_str(
                        cx,
                        take_value(&meta)?,
                        "`description` must be a string literal",
                    );
                    set_once(cx, &mut seen, &meta, &mut out.description, lit);
                } else if meta.path.is_ident("rename") {
                    let lit = expect_str(
                        cx,
                        take_value(&meta)?,
                        "`rename` must be a string literal, e.g. `rename = \"bizId\"`",
                    );
                    set_once(cx, &mut seen, &meta, &mut out.rename, lit);
                } else if meta.path.is_ident("form") {
                    let tokens = take_value(&meta)?;
                    let form = crate::form::parse(cx, meta.path.span(), tokens);
                    set_once(cx, &mut seen, &meta, &mut out.form, form);
                } else if meta.path.is_ident("default") {
                    let value = if meta.input.peek(Token![=]) {
                        DefaultValue::Expr(take_value(&meta)?)
                    } else {
                        DefaultValue::Trait(syn::spanned::Spanned::span(&meta.path))
                    };
                    set_once(cx, &mut seen, &meta, &mut out.default, Some(value));
                } else if let Some(key) = meta
                    .path
                    .get_ident()
                    .filter(|i| CONSTRAINT_KEYS.iter().any(|k| *i == k))
                {
                    let tokens = take_value(&meta)?;
                    let parsed = constraints::parse(cx, key, tokens);
                    if seen.first(cx, &meta)
                        && let Some(c) = parsed
                    {
                        out.constraints.0.push(c);
                    }
                } else {
                    unknown_key(cx, &meta, "field attribute", FIELD_KEYS)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}

/// The container attributes of a model: `#[model(rename = "..", crate = "..")]`.
#[derive(Default)]
pub(crate) struct ModelAttrs {
    pub(crate) rename: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) krate: Option<syn::Path>,
}

pub(crate) const MODEL_KEYS: &str = "`rename`, `description`, `crate`";

impl ModelAttrs {
    pub(crate) fn parse(cx: &Ctxt, attrs: &[Attribute]) -> ModelAttrs {
        let mut out = ModelAttrs::default();
        let mut seen = Seen::default();
        for attr in attrs {
            if attr.path().is_ident("field") {
                cx.error_spanned_by(
                    attr,
                    "`#[field(..)]` goes on fields; on the struct use `#[model(..)]`",
                );
                continue;
            }
            if !attr.path().is_ident("model") {
                continue;
            }
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    let lit = expect_str(
                        cx,
                        take_value(&meta)?,
                        "`rename` must be a string literal, e.g. `rename = \"Options\"`",
                    );
                    set_once(cx, &mut seen, &meta, &mut out.rename, lit);
                } else if meta.path.is_ident("description") {
                    let lit = expect_str(
                        cx,
                        take_value(&meta)?,
                        "`description` must be a string literal (`\"\"` for none)",
                    );
                    set_once(cx, &mut seen, &meta, &mut out.description, lit);
                } else if meta.path.is_ident("crate") {
                    let path = parse_crate_path(cx, take_value(&meta)?);
                    set_once(cx, &mut seen, &meta, &mut out.krate, path);
                } else {
                    unknown_key(cx, &meta, "model attribute", MODEL_KEYS)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}
