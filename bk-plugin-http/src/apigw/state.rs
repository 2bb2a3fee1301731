//! The setting names under which the gateway sync and the key fetch keep their state between
//! runs, in the schedule store's settings (`Store::get_setting` / `put_setting`), so that every Pod of the app — the
//! preRelease hook and the web processes — sees it.

/// The setting keys.
pub(crate) mod keys {
    /// The hash of the last successfully synced definition.
    pub(crate) const SYNC_HASH: &str = "apigw.sync_hash";
    /// apigw-manager's resource signature state: `{"is_dirty", "signature"}`.
    pub(crate) const RESOURCE_SIGNATURE: &str = "apigw.resource_signature";

    /// The public key of `gateway` (PEM).
    pub(crate) fn public_key(gateway: &str) -> String {
        format!("apigw.public_key:{gateway}")
    }
}
