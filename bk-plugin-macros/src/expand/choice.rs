//! `#[derive(Choice)]` on an enum of unit variants.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::choice::{ChoiceEnum, Value};
use crate::ctxt::Ctxt;
use crate::expand::{krate, wrap_in_const};

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    let cx = Ctxt::new();
    let choice = ChoiceEnum::from_ast(&cx, &input);
    match (cx.finish(), choice) {
        (Ok(()), Some(choice)) => generate(&choice),
        (Err(err), choice) => {
            let compile_error = err.to_compile_error();
            let fallback = choice
                .filter(|_| input.generics.params.is_empty())
                .map(|c| fallback(&c));
            quote!(#compile_error #fallback)
        }
        (Ok(()), None) => unreachable!("a choice that cannot be built is always reported"),
    }
}

fn generate(choice: &ChoiceEnum<'_>) -> TokenStream {
    let krate = krate(choice.krate.as_ref());
    let p = quote!(#krate::__private);
    let ident = choice.ident;
    let name = &choice.name;
    let description = &choice.description;
    let literal = choice.literal;
    let members = choice.variants.iter().map(|v| {
        let vname = &v.name;
        let value = match &v.value {
            Value::Str(s) => quote!(#p::ChoiceValue::Str(#s)),
            Value::Int(i) => quote!(#p::ChoiceValue::Int(#i)),
        };
        quote!(#p::ChoiceMember { name: #vname, value: #value })
    });
    let from_index = choice.variants.iter().enumerate().map(|(i, v)| {
        let vident = v.ident;
        quote!(#i => #ident::#vident)
    });
    let index = choice.variants.iter().enumerate().map(|(i, v)| {
        let vident = v.ident;
        quote!(#ident::#vident => #i)
    });
    let kind = if literal {
        quote!(#p::PyKind::Other)
    } else {
        quote!(#p::PyKind::Enum)
    };
    wrap_in_const(quote! {
        #[automatically_derived]
        impl #p::Choice for #ident {
            const NAME: &'static str = #name;
            const MODULE_PATH: &'static str = ::core::module_path!();
            const DESCRIPTION: &'static str = #description;
            const LITERAL: bool = #literal;
            const MEMBERS: &'static [#p::ChoiceMember] = &[#(#members),*];

            fn from_index(index: usize) -> Self {
                match index {
                    #(#from_index,)*
                    _ => ::core::panic!("no variant at this index"),
                }
            }

            fn index(&self) -> usize {
                match self {
                    #(#index,)*
                }
            }
        }

        #[automatically_derived]
        impl #p::FieldType for #ident {
            const SELF_KIND: #p::PyKind = #kind;
            fn schema(defs: &mut #p::Definitions) -> #p::Map<::std::string::String, #p::Value> {
                #p::choice_schema::<Self>(defs)
            }
            fn coerce(value: &#p::Value, validator: &mut #p::Validator) -> ::core::option::Option<Self> {
                #p::coerce_choice::<Self>(value, validator)
            }
            fn to_json(&self) -> #p::Value {
                #p::choice_to_json::<Self>(self)
            }
        }

        #p::impl_json_schema!(#ident);
    })
}

/// Impls with `unreachable!()` bodies next to the `compile_error!`, so one mistake gives one
/// error instead of "not a field type" at every use.
fn fallback(choice: &ChoiceEnum<'_>) -> TokenStream {
    let krate = krate(choice.krate.as_ref());
    let p = quote!(#krate::__private);
    let ident = choice.ident;
    wrap_in_const(quote! {
        impl #p::Choice for #ident {
            const NAME: &'static str = "";
            const MODULE_PATH: &'static str = "";
            const DESCRIPTION: &'static str = "";
            const LITERAL: bool = false;
            const MEMBERS: &'static [#p::ChoiceMember] = &[];
            fn from_index(_: usize) -> Self { ::core::unreachable!() }
            fn index(&self) -> usize { ::core::unreachable!() }
        }
        impl #p::FieldType for #ident {
            fn schema(_: &mut #p::Definitions) -> #p::Map<::std::string::String, #p::Value> { ::core::unreachable!() }
            fn coerce(_: &#p::Value, _: &mut #p::Validator) -> ::core::option::Option<Self> { ::core::unreachable!() }
            fn to_json(&self) -> #p::Value { ::core::unreachable!() }
        }
    })
}
