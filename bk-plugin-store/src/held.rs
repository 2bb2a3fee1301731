//! [`Held`]: a pooled connection that goes back to the pool only when its work finished.
//!
//! The engine bounds store calls with deadlines, and a request's future is dropped when its
//! client hangs up, so a store future can be dropped at any `.await`. A connection dropped in
//! the middle of a transaction must not be pooled: the next user would run inside the
//! abandoned transaction (on SQLite the only writer; on MySQL a dropped `BEGIN` leaves the
//! server in a transaction sqlx does not know about), and nothing it writes would ever be
//! committed. A `Held` connection dropped before [`release`](Held::release) is closed
//! instead; the server rolls its transaction back.

use std::ops::{Deref, DerefMut};

use sqlx::Database;
use sqlx::pool::PoolConnection;

/// See the module docs.
pub(crate) struct Held<DB: Database>(Option<PoolConnection<DB>>);

impl<DB: Database> Held<DB> {
    pub(crate) fn new(conn: PoolConnection<DB>) -> Self {
        Held(Some(conn))
    }

    /// Back to the pool: its transaction ended.
    pub(crate) fn release(mut self) {
        drop(self.0.take());
    }
}

impl<DB: Database> Deref for Held<DB> {
    type Target = PoolConnection<DB>;

    fn deref(&self) -> &PoolConnection<DB> {
        self.0.as_ref().expect("present until released or dropped")
    }
}

impl<DB: Database> DerefMut for Held<DB> {
    fn deref_mut(&mut self) -> &mut PoolConnection<DB> {
        self.0.as_mut().expect("present until released or dropped")
    }
}

impl<DB: Database> Drop for Held<DB> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}
