//! Minimal impls emitted next to a `compile_error!`, so one mistake gives one error instead of
//! "trait not implemented" at every place the type is used (thiserror's `fallback.rs` pattern).

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::{Model, PluginItem, Role};
use crate::expand::{krate, wrap_in_const};

pub(crate) fn plugin(input: &DeriveInput, plugin: &PluginItem<'_>) -> TokenStream {
    if !input.generics.params.is_empty() {
        return quote!();
    }
    let krate = krate(plugin.args.krate.as_ref());
    let ident = plugin.ident;
    wrap_in_const(quote! {
        impl #krate::PluginInfo for #ident {
            const VERSION: &'static str = "0.0.0";
            const DESC: &'static str = "";
            const ENABLE_PLUGIN_CALLBACK: bool = false;
            const FORM: ::core::option::Option<&'static str> = ::core::option::Option::None;
            const TYPE_NAME: &'static str = "";
            fn __construct() -> ::core::result::Result<Self, #krate::PluginError> {
                ::core::unreachable!()
            }
        }
    })
}

pub(crate) fn model(model: &Model<'_>, role: Role) -> TokenStream {
    if !model.input.generics.params.is_empty() {
        return quote!();
    }
    let krate = krate(model.attrs.krate.as_ref());
    let p = quote!(#krate::__private);
    let ident = model.ident;
    let role_impl = match role {
        Role::Inputs => quote! {
            impl #krate::Inputs for #ident {
                fn schema() -> #p::Value { ::core::unreachable!() }
                fn from_json(_: &#p::Value) -> ::core::result::Result<Self, #krate::ValidationError> { ::core::unreachable!() }
                fn to_json(&self) -> #p::Value { ::core::unreachable!() }
            }
        },
        Role::ContextInputs => quote! {
            impl #krate::ContextInputs for #ident {
                fn schema() -> #p::Value { ::core::unreachable!() }
                fn from_json(_: &#p::Value) -> ::core::result::Result<Self, #krate::ValidationError> { ::core::unreachable!() }
                fn to_json(&self) -> #p::Value { ::core::unreachable!() }
            }
        },
        Role::Outputs => quote! {
            impl #krate::Outputs for #ident {
                fn schema() -> #p::Value { ::core::unreachable!() }
                fn to_object(&self) -> #p::Map<::std::string::String, #p::Value> { ::core::unreachable!() }
            }
        },
    };
    wrap_in_const(quote! {
        impl #p::Model for #ident {
            const NAME: &'static str = "";
            const MODULE_PATH: &'static str = "";
            const DESCRIPTION: ::core::option::Option<&'static str> = ::core::option::Option::None;
            fn describe(_: &mut #p::ModelSchema<'_>) { ::core::unreachable!() }
            fn from_object(_: &#p::Map<::std::string::String, #p::Value>, _: &mut #p::Validator) -> ::core::option::Option<Self> { ::core::unreachable!() }
            fn to_object(&self) -> #p::Map<::std::string::String, #p::Value> { ::core::unreachable!() }
        }
        impl #p::FieldType for #ident {
            fn schema(_: &mut #p::Definitions) -> #p::Map<::std::string::String, #p::Value> { ::core::unreachable!() }
            fn coerce(_: &#p::Value, _: &mut #p::Validator) -> ::core::option::Option<Self> { ::core::unreachable!() }
            fn to_json(&self) -> #p::Value { ::core::unreachable!() }
        }
        #role_impl
    })
}
