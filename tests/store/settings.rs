//! `Store::get_setting` / `put_setting` on every store: unset, set, replaced, independent
//! names, long values (a PEM key), names compared byte for byte.

use bk_plugin_tests::stores::each_store;

#[test]
fn settings_are_kept_and_replaced() {
    each_store(|name, store| async move {
        assert_eq!(
            store.get_setting("apigw.sync_hash").await.unwrap(),
            None,
            "{name}"
        );
        store.put_setting("apigw.sync_hash", "a").await.unwrap();
        store
            .put_setting("apigw.public_key:bp-x", "k1")
            .await
            .unwrap();
        assert_eq!(
            store
                .get_setting("apigw.sync_hash")
                .await
                .unwrap()
                .as_deref(),
            Some("a")
        );
        store.put_setting("apigw.sync_hash", "b").await.unwrap();
        assert_eq!(
            store
                .get_setting("apigw.sync_hash")
                .await
                .unwrap()
                .as_deref(),
            Some("b")
        );
        assert_eq!(
            store
                .get_setting("apigw.public_key:bp-x")
                .await
                .unwrap()
                .as_deref(),
            Some("k1")
        );
        // Case matters (MySQL's default collation would fold it).
        assert_eq!(
            store.get_setting("APIGW.SYNC_HASH").await.unwrap(),
            None,
            "{name}"
        );
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            "A".repeat(70_000)
        );
        store
            .put_setting("apigw.public_key:bp-y", &pem)
            .await
            .unwrap();
        assert_eq!(
            store.get_setting("apigw.public_key:bp-y").await.unwrap(),
            Some(pem),
            "{name}"
        );
    });
}
