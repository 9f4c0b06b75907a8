//! Reading an app and changing it under optimistic concurrency: the one way every
//! operation on an app writes it.

use crate::admin::AdminError;
use crate::store::{Client, DynStore};

/// An app by client id.
pub async fn find(store: &DynStore, client_id: &str) -> Result<Client, AdminError> {
    store
        .get_client(client_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("app {client_id}")))
}

/// How many times a read-modify-write of an app is retried when another write got in
/// between its read and its write.
const WRITE_ATTEMPTS: usize = 5;

/// A read-modify-write of one app under optimistic concurrency: `change` decides from
/// the current row alone (`Ok(None)`: nothing to write) and the write applies only if
/// the row is still the one read (`ClientStore::update_client` checks its version);
/// otherwise the row is read again and `change` decides again. So no operation ever
/// writes a stale list of secrets over a concurrent one (a deactivated, leaked secret
/// brought back; a created one lost). Answers the row read and, if written, the new row.
pub(super) async fn modify<T>(
    store: &DynStore,
    client_id: &str,
    mut change: impl FnMut(&Client) -> Result<Option<(Client, T)>, AdminError>,
) -> Result<(Client, Option<(Client, T)>), AdminError> {
    for _ in 0..WRITE_ATTEMPTS {
        let before = find(store, client_id).await?;
        let Some((mut after, extra)) = change(&before)? else {
            return Ok((before, None));
        };
        after.version = before.version;
        if store.update_client(&after).await? {
            after.version += 1;
            return Ok((before, Some((after, extra))));
        }
        // Changed (or deleted) since read: `find` tells which on the next round.
    }
    Err(AdminError::Conflict(format!(
        "app {client_id} was changed concurrently; retry"
    )))
}
