//! Doc comments → descriptions, cleaned the way Python's `inspect.cleandoc` cleans docstrings.

use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// Joins the `#[doc = "..."]` lines of `attrs` and cleans them; `None` when there is no text.
pub(crate) fn doc_text(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &attr.meta
            && let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
        {
            lines.extend(s.value().split('\n').map(str::to_owned));
        }
    }
    let cleaned = cleandoc(&lines);
    if cleaned.is_empty() {
        None
    } else {
        Some(cleaned)
    }
}

/// `inspect.cleandoc`: strip the common indentation, then leading and trailing blank lines.
/// (Python keeps the first line's own indentation out of the common margin; rustdoc lines all
/// carry the same single leading space, so treating every line alike gives the same result.)
fn cleandoc(lines: &[String]) -> String {
    let margin = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let stripped: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                ""
            } else {
                l[margin..].trim_end()
            }
        })
        .collect();
    let start = stripped.iter().position(|l| !l.is_empty());
    let end = stripped.iter().rposition(|l| !l.is_empty());
    match (start, end) {
        (Some(s), Some(e)) => stripped[s..=e].join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::doc_text;
    use syn::parse_quote;

    #[test]
    fn single_line() {
        let item: syn::DeriveInput = parse_quote! {
            /// Template to instantiate.
            struct S;
        };
        assert_eq!(
            doc_text(&item.attrs).as_deref(),
            Some("Template to instantiate.")
        );
    }

    #[test]
    fn paragraphs_and_indentation() {
        let item: syn::DeriveInput = parse_quote! {
            ///
            /// First line.
            ///
            ///     indented code
            /// last
            ///
            struct S;
        };
        assert_eq!(
            doc_text(&item.attrs).as_deref(),
            Some("First line.\n\n    indented code\nlast")
        );
    }

    #[test]
    fn none_without_docs() {
        let item: syn::DeriveInput = parse_quote! { #[derive(Debug)] struct S; };
        assert_eq!(doc_text(&item.attrs), None);
        let item: syn::DeriveInput = parse_quote! { #[doc = "   "] struct S; };
        assert_eq!(doc_text(&item.attrs), None);
    }
}
