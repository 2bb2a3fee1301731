//! Borrowed views of the user's items, built from `syn` trees with every span kept.

use proc_macro2::Span;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type};

use crate::attr::{DefaultValue, FieldAttrs, ModelAttrs, PluginArgs};
use crate::constraints::FieldConstraints;
use crate::ctxt::Ctxt;
use crate::docs::doc_text;
use crate::form::FieldForm;
use crate::title::py_title;

/// Which derive is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Inputs,
    ContextInputs,
    Outputs,
}

impl Role {
    pub(crate) fn derive_name(self) -> &'static str {
        match self {
            Role::Inputs => "Inputs",
            Role::ContextInputs => "ContextInputs",
            Role::Outputs => "Outputs",
        }
    }
}

/// A struct deriving one of the model traits.
pub(crate) struct Model<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) input: &'a DeriveInput,
    pub(crate) attrs: ModelAttrs,
    pub(crate) doc: Option<String>,
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field of a model.
pub(crate) struct Field<'a> {
    pub(crate) member: &'a Ident,
    pub(crate) ty: &'a Type,
    /// The JSON key: the `rename`, or the field name without `r#`.
    pub(crate) key: String,
    /// Where to point errors about the key.
    pub(crate) key_span: Span,
    pub(crate) title: String,
    pub(crate) explicit_title: bool,
    pub(crate) description: Option<String>,
    pub(crate) default: Option<DefaultValue>,
    /// `#[field(form = {..})]`: `ui:*` keys for the field's property (Inputs only).
    pub(crate) form: Option<FieldForm>,
    pub(crate) constraints: FieldConstraints,
}

impl<'a> Model<'a> {
    /// Builds the model, recording unsupported shapes in `cx`; `None` if it cannot be built.
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput, role: Role) -> Option<Model<'a>> {
        let attrs = ModelAttrs::parse(cx, &input.attrs);
        let derive = role.derive_name();
        let data = match &input.data {
            Data::Struct(data) => data,
            Data::Enum(e) => {
                cx.error_spanned_by(
                    e.enum_token,
                    format_args!(
                        "#[derive({derive})] supports only structs with named fields, not enums; \
                         for a field with a fixed set of values, derive `Choice` on the enum \
                         (`#[derive(Choice)]`) and use it as the field's type"
                    ),
                );
                return None;
            }
            Data::Union(u) => {
                cx.error_spanned_by(
                    u.union_token,
                    format_args!(
                        "#[derive({derive})] supports only structs with named fields, not unions"
                    ),
                );
                return None;
            }
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                format_args!(
                    "#[derive({derive})] does not support generic structs: a model's JSON schema must be fixed; \
                     write a concrete struct per shape"
                ),
            );
        }
        let named = match &data.fields {
            Fields::Named(named) => Some(named),
            Fields::Unit => None,
            Fields::Unnamed(unnamed) => {
                cx.error_spanned_by(
                    unnamed,
                    format_args!(
                        "#[derive({derive})] supports only structs with named fields; \
                         name each field (`struct {} {{ name: Type }}`) so it has a JSON key",
                        input.ident
                    ),
                );
                return None;
            }
        };
        let mut fields = Vec::new();
        for field in named.into_iter().flat_map(|n| n.named.iter()) {
            let member = field.ident.as_ref().expect("named field has an ident");
            let fattrs = FieldAttrs::parse(cx, &field.attrs);
            let (key, key_span) = match &fattrs.rename {
                Some(lit) => (lit.value(), lit.span()),
                None => (unraw(member), member.span()),
            };
            let explicit_title = fattrs.title.is_some();
            let title = fattrs
                .title
                .as_ref()
                .map(LitStr::value)
                .unwrap_or_else(|| py_title(&key));
            let description = match &fattrs.description {
                Some(lit) => Some(lit.value()).filter(|d| !d.is_empty()),
                None => doc_text(&field.attrs),
            };
            fields.push(Field {
                member,
                ty: &field.ty,
                key,
                key_span,
                title,
                explicit_title,
                description,
                default: fattrs.default,
                form: fattrs.form,
                constraints: fattrs.constraints,
            });
        }
        Some(Model {
            ident: &input.ident,
            input,
            doc: match &attrs.description {
                Some(lit) => Some(lit.value()).filter(|d| !d.is_empty()),
                None => doc_text(&input.attrs),
            },
            fields,
            attrs,
        })
    }

    /// The definition name: `#[model(rename)]` or the struct name.
    pub(crate) fn name(&self) -> String {
        self.attrs
            .rename
            .as_ref()
            .map(LitStr::value)
            .unwrap_or_else(|| unraw(self.ident))
    }
}

/// `r#type` → `type`.
pub(crate) fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

/// A struct carrying `#[plugin(..)]`.
pub(crate) struct PluginItem<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) args: PluginArgs,
    /// `struct S;` or `struct S {}`: constructed without `Default`.
    pub(crate) unit: bool,
}

impl<'a> PluginItem<'a> {
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput, args: PluginArgs) -> PluginItem<'a> {
        let unit = match &input.data {
            Data::Struct(s) => match &s.fields {
                Fields::Unit => true,
                Fields::Named(n) => n.named.is_empty(),
                Fields::Unnamed(u) => u.unnamed.is_empty(),
            },
            Data::Enum(e) => {
                cx.error_spanned_by(
                    e.enum_token,
                    "#[plugin] goes on a struct (`pub struct MyPlugin;`), not an enum",
                );
                false
            }
            Data::Union(u) => {
                cx.error_spanned_by(
                    u.union_token,
                    "#[plugin] goes on a struct (`pub struct MyPlugin;`), not a union",
                );
                false
            }
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "#[plugin] structs cannot be generic: each version is one concrete type",
            );
        }
        PluginItem {
            ident: &input.ident,
            args,
            unit,
        }
    }
}
