//! `gatehouse brand ...`: the org name, colours, logo and favicon of the hosted pages.

use std::path::PathBuf;

use clap::Subcommand;

use super::print_json;
use crate::admin::Actor;
use crate::admin::brands::{self, BrandChange};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};
use crate::store::ImageKind;

#[derive(Debug, Subcommand)]
pub enum BrandCommand {
    /// Print the brand and its theme as JSON (Okta's Brand and Theme objects).
    Show,
    /// Change the org name or the colours of the hosted pages.
    Set {
        /// The org name every hosted page shows (e.g. "Acme Corp").
        #[arg(long)]
        name: Option<String>,
        /// The buttons' colour as #rrggbb; the text on them is chosen for contrast.
        #[arg(long, value_name = "#RRGGBB")]
        primary_color: Option<String>,
        /// The secondary buttons' colour as #rrggbb.
        #[arg(long, value_name = "#RRGGBB")]
        secondary_color: Option<String>,
    },
    /// Set the logo shown above every hosted page (PNG, JPEG or GIF, at most 100 kB).
    Logo {
        /// The image file.
        #[arg(value_name = "FILE", required_unless_present = "remove")]
        file: Option<PathBuf>,
        /// Remove the logo instead: the pages show the org name alone.
        #[arg(long, conflicts_with = "file")]
        remove: bool,
    },
    /// Set the favicon of the hosted pages (PNG, GIF or ICO, at most 100 kB).
    Favicon {
        /// The image file.
        #[arg(value_name = "FILE", required_unless_present = "remove")]
        file: Option<PathBuf>,
        /// Remove the favicon instead: the pages use Gatehouse's own.
        #[arg(long, conflicts_with = "file")]
        remove: bool,
    },
}

pub async fn run(command: BrandCommand, backend: &Backend, base_url: &str) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: crate::admin::AdminError| e.to_string();
    let now = SystemClock.now();
    let (kind, file, remove) = match command {
        BrandCommand::Show => {
            let brand = brands::get(store).await.map_err(err)?;
            print_json(&serde_json::json!({
                "brand": brands::brand_json(&brand, base_url),
                "theme": brands::theme_json(&brand, base_url),
            }));
            return Ok(());
        }
        BrandCommand::Set {
            name,
            primary_color,
            secondary_color,
        } => {
            let change = BrandChange {
                name,
                primary_color,
                secondary_color,
            };
            let brand = brands::update(store, &Actor::cli(), change, now)
                .await
                .map_err(err)?;
            print_json(&brands::theme_json(&brand, base_url));
            return Ok(());
        }
        BrandCommand::Logo { file, remove } => (ImageKind::Logo, file, remove),
        BrandCommand::Favicon { file, remove } => (ImageKind::Favicon, file, remove),
    };
    let bytes = match (file, remove) {
        (_, true) => None,
        (Some(path), false) => {
            Some(std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?)
        }
        (None, false) => return Err("name the image file, or pass --remove".into()),
    };
    let brand = brands::set_image(store, &Actor::cli(), kind, bytes, now)
        .await
        .map_err(err)?;
    print_json(&brands::theme_json(&brand, base_url));
    Ok(())
}
