//! `gatehouse backup --to FILE`: a consistent copy of the SQLite database, taken while
//! servers keep running (`VACUUM INTO`). PostgreSQL has its own tool, `pg_dump`.

use std::path::Path;

use crate::config::StoreConfig;
use crate::store;

pub async fn run(config: &StoreConfig, to: &Path) -> Result<(), String> {
    let url = config.database_url.as_deref().unwrap_or("");
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err("the database is PostgreSQL: back it up with pg_dump \
                    (pg_dump --format=custom --file=gatehouse.dump DATABASE_URL) \
                    and restore with pg_restore; see docs/operations.md, Backup"
            .into());
    }
    if to.exists() {
        return Err(format!(
            "{} exists: a backup never overwrites a file",
            to.display()
        ));
    }
    let store = store::open(config).await.map_err(|e| e.to_string())?;
    store
        .backup_into(to)
        .await
        .map_err(|e| format!("backup to {}: {e}", to.display()))?;
    println!("backed up to {}", to.display());
    eprintln!(
        "The master key is not in the backup: keep {} (or GATEHOUSE_MASTER_KEY) with it; \
         without it the signing keys and client secrets in the backup cannot be used.",
        config.data_dir.join("master.key").display()
    );
    Ok(())
}
