//! `#[derive(Inputs | ContextInputs | Outputs)]` on a struct with named fields.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, LitStr};

use crate::ast::{Model, Role};
use crate::attr::DefaultValue;
use crate::ctxt::Ctxt;
use crate::expand::{krate, wrap_in_const};
use crate::{fallback, valid};

pub(crate) fn derive(input: TokenStream, role: Role) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    let cx = Ctxt::new();
    let model = Model::from_ast(&cx, &input, role);
    if let Some(model) = &model {
        valid::model(&cx, model, role);
    }
    match (cx.finish(), model) {
        (Ok(()), Some(model)) => generate(&model, role),
        (Err(err), model) => {
            let compile_error = err.to_compile_error();
            let fallback = model.map(|m| fallback::model(&m, role));
            quote!(#compile_error #fallback)
        }
        (Ok(()), None) => unreachable!("a model that cannot be built is always reported"),
    }
}

fn opt_str(s: Option<&str>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn generate(model: &Model<'_>, role: Role) -> TokenStream {
    let krate = krate(model.attrs.krate.as_ref());
    let p = quote!(#krate::__private);
    let ident = model.ident;
    let name = model.name();
    let description = opt_str(model.doc.as_deref());

    let mut tables = Vec::new();
    let mut default_fns = Vec::new();
    let mut describe = Vec::new();
    let mut reads = Vec::new();
    let mut inits = Vec::new();
    let mut writes = Vec::new();

    for (i, field) in model.fields.iter().enumerate() {
        let ty = field.ty;
        let member = field.member;
        let key = &field.key;
        let title = &field.title;
        let explicit_title = field.explicit_title;
        let fdesc = opt_str(field.description.as_deref());
        let local = format_ident!("__field{}", i);
        let ops = format_ident!("__bk_field_ops_{}", i);
        let (constraint_items, constraints) =
            crate::constraints::expand(&p, ty, i, &field.constraints);
        tables.push(constraint_items);

        // The only place that requires `#ty: FieldType`: an unsupported type gives one error,
        // on the field's type. Everything below goes through this table.
        tables.push(quote_spanned! {ty.span()=>
            const #ops: #p::FieldOps<#ty> = #p::field_ops::<#ty>();
        });

        let default = match &field.default {
            None => quote!(::core::option::Option::None),
            Some(value) => {
                let fn_name = format_ident!("__bk_default_{}", i);
                let body = match value {
                    DefaultValue::Trait(span) => {
                        quote_spanned!(*span=> <#ty as ::core::default::Default>::default())
                    }
                    DefaultValue::Expr(tokens) => {
                        if syn::parse2::<LitStr>(tokens.clone()).is_ok() {
                            quote_spanned!(tokens.span()=> ::core::convert::Into::<#ty>::into(#tokens))
                        } else {
                            quote!(#tokens)
                        }
                    }
                };
                default_fns.push(quote! {
                    fn #fn_name() -> #ty { #body }
                });
                quote!(::core::option::Option::Some(#fn_name as fn() -> #ty))
            }
        };

        let form = field
            .form
            .as_ref()
            .map(|form| crate::form::expand(&p, key, form));
        describe.push(quote! {
            schema.field_with(&#ops, #p::FieldDoc {
                key: #key,
                title: #title,
                explicit_title: #explicit_title,
                description: #fdesc,
            }, #default, #constraints);
            #form
        });
        reads.push(quote! {
            let #local = (#ops.read)(validator, object, #key, #default, #constraints);
        });
        inits.push(quote!(#member: #local?));
        writes.push(quote! {
            object.insert(::std::string::String::from(#key), (#ops.to_json)(&self.#member));
        });
    }

    let field_count = model.fields.len();
    let role_impl = role_impl(model, role, &krate);

    wrap_in_const(quote! {
        #(#tables)*
        #(#default_fns)*

        #[automatically_derived]
        impl #p::Model for #ident {
            const NAME: &'static str = #name;
            const MODULE_PATH: &'static str = ::core::module_path!();
            const DESCRIPTION: ::core::option::Option<&'static str> = #description;

            fn describe(schema: &mut #p::ModelSchema<'_>) {
                #(#describe)*
            }

            fn from_object(
                object: &#p::Map<::std::string::String, #p::Value>,
                validator: &mut #p::Validator,
            ) -> ::core::option::Option<Self> {
                #(#reads)*
                ::core::option::Option::Some(#ident { #(#inits),* })
            }

            fn to_object(&self) -> #p::Map<::std::string::String, #p::Value> {
                let mut object = #p::Map::with_capacity(#field_count);
                #(#writes)*
                object
            }
        }

        #[automatically_derived]
        impl #p::FieldType for #ident {
            fn schema(defs: &mut #p::Definitions) -> #p::Map<::std::string::String, #p::Value> {
                defs.reference::<Self>()
            }
            fn coerce(value: &#p::Value, validator: &mut #p::Validator) -> ::core::option::Option<Self> {
                #p::coerce_model::<Self>(value, validator)
            }
            fn to_json(&self) -> #p::Value {
                #p::Value::Object(<Self as #p::Model>::to_object(self))
            }
        }

        #p::impl_json_schema!(#ident);

        #role_impl
    })
}

/// The public trait of the role (`Inputs`, `ContextInputs`, `Outputs`).
fn role_impl(model: &Model<'_>, role: Role, krate: &TokenStream) -> TokenStream {
    let ident = model.ident;
    let p = quote!(#krate::__private);
    match role {
        Role::Inputs => quote! {
            #[automatically_derived]
            impl #krate::Inputs for #ident {
                fn schema() -> #p::Value { #p::root_schema::<Self>() }
                fn from_json(value: &#p::Value) -> ::core::result::Result<Self, #krate::ValidationError> {
                    #p::validate_root::<Self>(value, "Inputs")
                }
                fn to_json(&self) -> #p::Value { #p::FieldType::to_json(self) }
            }
        },
        Role::ContextInputs => {
            let callback_field = model
                .fields
                .iter()
                .find(|f| f.key == "plugin_callback_info");
            let (info, marker) = match callback_field {
                Some(field) => {
                    let member = field.member;
                    let ty = field.ty;
                    (
                        quote_spanned! {ty.span()=>
                            fn plugin_callback_info(&self) -> ::core::option::Option<#krate::PluginCallbackInfo> {
                                #p::PluginCallbackField::plugin_callback_info(&self.#member)
                            }
                        },
                        quote! {
                            #[automatically_derived]
                            impl #p::HasPluginCallbackInfo for #ident {}
                        },
                    )
                }
                None => (quote!(), quote!()),
            };
            quote! {
                #[automatically_derived]
                impl #krate::ContextInputs for #ident {
                    fn schema() -> #p::Value { #p::root_schema::<Self>() }
                    fn from_json(value: &#p::Value) -> ::core::result::Result<Self, #krate::ValidationError> {
                        #p::validate_root::<Self>(value, "ContextInputs")
                    }
                    fn to_json(&self) -> #p::Value { #p::FieldType::to_json(self) }
                    #info
                }
                #marker
            }
        }
        Role::Outputs => quote! {
            #[automatically_derived]
            impl #krate::Outputs for #ident {
                fn schema() -> #p::Value { #p::root_schema::<Self>() }
                fn to_object(&self) -> #p::Map<::std::string::String, #p::Value> {
                    <Self as #p::Model>::to_object(self)
                }
            }
        },
    }
}
