//! `#[plugin(version = "..", ..)]` on a struct.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::DeriveInput;

use crate::ast::PluginItem;
use crate::attr::PluginArgs;
use crate::ctxt::Ctxt;
use crate::expand::{krate, wrap_in_const};
use crate::{fallback, valid, version};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(_) => {
            // Not a struct/enum/union: point at the item and give it back untouched.
            let err = syn::Error::new_spanned(
                &item,
                "#[plugin] goes on a struct declaration, e.g. `#[plugin(version = \"1.0.0\")] pub struct MyPlugin;`",
            );
            let compile_error = err.to_compile_error();
            return quote!(#compile_error #item);
        }
    };
    let cx = Ctxt::new();
    let args = PluginArgs::parse(&cx, args);
    let plugin = PluginItem::from_ast(&cx, &input, args);
    let version = match &plugin.args.version {
        Some(lit) => version::version(&cx, lit),
        None if plugin.args.version_given => None, // its bad value is already reported
        None => {
            cx.error_spanned_by(
                plugin.ident,
                "missing plugin version: write `#[plugin(version = \"1.0.0\")]` (a semantic version, MAJOR.MINOR.PATCH)",
            );
            None
        }
    };
    let form = version
        .as_ref()
        .and(plugin.args.version.as_ref())
        .and_then(|lit| valid::form_path(&cx, &plugin, &lit.value()));
    let timeout = plugin
        .args
        .timeout
        .as_ref()
        .and_then(|lit| Some((valid::timeout(&cx, lit)?, lit.clone())));
    if let Some(lit) = &plugin.args.deprecated {
        valid::deprecated(&cx, lit);
    }
    match (cx.finish(), version) {
        (Ok(()), Some(version)) => generate(&input, &plugin, &version, form, timeout),
        (Err(err), _) => {
            let compile_error = err.to_compile_error();
            let fallback = fallback::plugin(&input, &plugin);
            quote!(#compile_error #input #fallback)
        }
        (Ok(()), None) => unreachable!("a missing or invalid version is always reported"),
    }
}

fn generate(
    input: &DeriveInput,
    plugin: &PluginItem<'_>,
    version: &semver::Version,
    form: Option<std::path::PathBuf>,
    timeout: Option<(u64, syn::LitStr)>,
) -> TokenStream {
    let krate = krate(plugin.args.krate.as_ref());
    let ident = plugin.ident;
    let version_lit = plugin.args.version.as_ref().expect("validated");
    let desc = plugin
        .args
        .desc
        .as_ref()
        .map(|d| quote!(#d))
        .unwrap_or_else(|| quote!(""));
    let enable_cb = plugin
        .args
        .enable_plugin_callback
        .as_ref()
        .is_some_and(syn::LitBool::value);
    let cancellable = plugin
        .args
        .cancellable
        .as_ref()
        .is_some_and(syn::LitBool::value);
    let form = match form {
        Some(path) => {
            let path = path.to_string_lossy().into_owned();
            quote!(::core::option::Option::Some(::core::include_str!(#path)))
        }
        None => quote!(::core::option::Option::None),
    };
    let construct = construct(plugin, &krate);
    let deprecated = plugin.args.deprecated.as_ref().map(|lit| {
        quote! {
            const DEPRECATED: ::core::option::Option<&'static str> =
                ::core::option::Option::Some(#lit);
        }
    });
    let timeout = timeout.map(|(secs, lit)| {
        quote! {
            const TIMEOUT: ::core::option::Option<#krate::__private::TimeLimit> =
                ::core::option::Option::Some(#krate::__private::TimeLimit::__new(#secs, #lit));
        }
    });

    // One `#[macro_export]` macro per version, spanned at the version literal: two plugins with
    // the same version anywhere in one crate collide in the crate-root macro namespace (E0428),
    // and rustc points at both literals.
    let guard = format_ident!("{}", version::guard_name(version));
    let guard_item = quote_spanned! {version_lit.span()=>
        #[doc(hidden)]
        #[allow(non_local_definitions)]
        #[macro_export]
        macro_rules! #guard { () => {}; }
    };

    let callback_check = match &plugin.args.enable_plugin_callback {
        Some(lit) if lit.value() => quote_spanned! {lit.span()=>
            const _: fn() = || {
                #krate::__private::assert_plugin_callback_info::<
                    <#ident as #krate::Plugin>::ContextInputs
                >();
            };
        },
        _ => quote!(),
    };

    let info = wrap_in_const(quote! {
        #[automatically_derived]
        impl #krate::PluginInfo for #ident {
            const VERSION: &'static str = #version_lit;
            const DESC: &'static str = #desc;
            const ENABLE_PLUGIN_CALLBACK: bool = #enable_cb;
            const CANCELLABLE: bool = #cancellable;
            const FORM: ::core::option::Option<&'static str> = #form;
            const TYPE_NAME: &'static str = ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident));
            #timeout
            #deprecated
            fn __construct() -> ::core::result::Result<Self, #krate::PluginError> {
                #construct
            }
        }
        #callback_check
    });

    quote! {
        #input
        #guard_item
        #info
        #krate::__private::inventory::submit! {
            #krate::__private::Registration::of::<#ident>(
                ::core::option_env!("CARGO_PKG_NAME"),
                ::core::option_env!("CARGO_PKG_DESCRIPTION"),
            )
        }
    }
}

/// How the registry builds the plugin value once at startup.
fn construct(plugin: &PluginItem<'_>, krate: &TokenStream) -> TokenStream {
    let ident = plugin.ident;
    if let Some(init) = &plugin.args.init {
        quote_spanned! {span_of(init)=>
            #krate::__private::construct_with_init::<#ident, _>(#init)
        }
    } else if plugin.unit {
        quote!(::core::result::Result::Ok(#ident {}))
    } else {
        quote_spanned! {ident.span()=>
            #krate::__private::construct_with_default::<#ident>()
        }
    }
}

fn span_of(path: &syn::Path) -> Span {
    syn::spanned::Spanned::span(path)
}
