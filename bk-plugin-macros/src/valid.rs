//! Cross-checks that need the whole item: field keys, the form file, timeouts, deprecation.

use std::collections::HashMap;
use std::path::PathBuf;

use syn::LitStr;

use crate::ast::{Model, PluginItem, Role};
use crate::ctxt::Ctxt;

/// Checks a `deprecated = "…"` literal: a message with some text in it, since callers and the
/// debug page show it as the reason the version is retired.
pub(crate) fn deprecated(cx: &Ctxt, lit: &LitStr) {
    if lit.value().trim().is_empty() {
        cx.error_spanned_by(
            lit,
            "`deprecated` needs a message telling callers what to use instead, e.g. `deprecated = \"use 2.0.0: it takes the new task form\"`",
        );
    }
}

/// The longest `timeout`: 10 years, far beyond any real invocation.
const MAX_TIMEOUT_SECS: u64 = 10 * 365 * 86_400;

/// Checks a `timeout = "…"` literal: one or more `<number><unit>` (units `d`, `h`, `m`,
/// `s`, each at most once, in that order), in total more than zero; its length in seconds.
pub(crate) fn timeout(cx: &Ctxt, lit: &LitStr) -> Option<u64> {
    match parse_duration(&lit.value()) {
        Ok(secs) => Some(secs),
        Err(why) => {
            cx.error_spanned_by(
                lit,
                format_args!(
                    "`{}` is not a timeout: {why}; write numbers with units `d`, `h`, `m`, `s`, e.g. `timeout = \"7d\"` or `timeout = \"1h30m\"`",
                    lit.value()
                ),
            );
            None
        }
    }
}

fn parse_duration(text: &str) -> Result<u64, String> {
    if text.is_empty() {
        return Err("it is empty".into());
    }
    let units = [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)];
    let mut rest = text;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(format!("`{rest}` does not start with a number"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| "a number is too large".to_owned())?;
        let unit = rest[digits..]
            .chars()
            .next()
            .ok_or("the last number has no unit")?;
        let at = units[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| {
                format!("`{unit}` is not a unit here (units go d, h, m, s, each once)")
            })?;
        next_unit += at + 1;
        total = n
            .checked_mul(units[next_unit - 1].1)
            .and_then(|s| total.checked_add(s))
            .ok_or("it is too long")?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    if total == 0 {
        return Err("it is zero".into());
    }
    if total > MAX_TIMEOUT_SECS {
        return Err("it is longer than 10 years".into());
    }
    Ok(total)
}

/// Resolves the version's form: `form = "path"` (must exist) or `forms/{version}/form.js`
/// next to Cargo.toml (optional). Returns the absolute path to `include_str!`.
pub(crate) fn form_path(cx: &Ctxt, item: &PluginItem<'_>, version: &str) -> Option<PathBuf> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)?;
    match &item.args.form {
        Some(lit) => {
            let path = manifest_dir.join(lit.value());
            if path.is_file() {
                Some(path)
            } else {
                cx.error_spanned_by(
                    lit,
                    format_args!(
                        "form file `{}` not found (paths are relative to the crate's Cargo.toml, `{}`)",
                        lit.value(),
                        manifest_dir.display()
                    ),
                );
                None
            }
        }
        None => {
            let path = manifest_dir.join("forms").join(version).join("form.js");
            path.is_file().then_some(path)
        }
    }
}

/// `form` only goes on Inputs fields: the Python framework merges `InputsForm` into
/// `detail.inputs` alone, and only the inputs are a form in SOPS.
const FORM_NOT_ON_INPUTS: &str = "goes on fields of `#[derive(Inputs)]` only: the form is what the end user fills in, and the Python framework merges `InputsForm` into `inputs` alone; remove `form` here";

/// Field keys must be unique after `rename`; `form` only on Inputs.
pub(crate) fn model(cx: &Ctxt, model: &Model<'_>, role: Role) {
    let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
    for field in &model.fields {
        crate::constraints::validate(cx, &field.constraints);
        if let Some(form) = field.form.as_ref().filter(|_| role != Role::Inputs) {
            cx.syn_error(syn::Error::new(
                form.span,
                format_args!(
                    "`form` {FORM_NOT_ON_INPUTS} (this is `#[derive({})]`)",
                    role.derive_name()
                ),
            ));
        }
        if let Some(first) = seen.insert(field.key.as_str(), field.member) {
            cx.syn_error(syn::Error::new(
                field.key_span,
                format_args!(
                    "JSON key `{}` is used by fields `{first}` and `{}`; give one of them another `rename`",
                    field.key, field.member
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_in_seconds() {
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("1d2h3m4s"), Ok(93_784));
        for bad in [
            "", "7", "d", "7w", "30m1h", "1h1h", "0s", "1.5h", " 7d", "99999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
