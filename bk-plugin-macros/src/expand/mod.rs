//! Token generation. Functions here assume validated input.

pub(crate) mod choice;
pub(crate) mod model;
pub(crate) mod plugin;

use proc_macro2::TokenStream;
use quote::quote;

/// The path generated code uses for the kit: `crate = "..."` or `::bk_plugin_kit`.
pub(crate) fn krate(custom: Option<&syn::Path>) -> TokenStream {
    match custom {
        Some(path) => quote!(#path),
        None => quote!(::bk_plugin_kit),
    }
}

/// Wraps generated items in an anonymous `const` so their helper names never leak.
pub(crate) fn wrap_in_const(tokens: TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(
            non_upper_case_globals,
            non_snake_case,
            unused_attributes,
            unused_qualifications,
            clippy::all,
            clippy::pedantic
        )]
        const _: () = {
            #tokens
        };
    }
}
