//! `gatehouse migrate`: applies the migrations the database lacks and exits, so a
//! deployment can migrate once before it starts (or upgrades) its instances. `serve`
//! and every other command migrate at open too; this only does nothing else.

use crate::config::StoreConfig;
use crate::store;

pub async fn run(config: &StoreConfig) -> Result<(), String> {
    let store = store::open(config).await.map_err(|e| e.to_string())?;
    let version = store.schema_version().await.map_err(|e| e.to_string())?;
    println!("schema version {version}");
    Ok(())
}
