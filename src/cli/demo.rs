//! `gatehouse demo`: registers the demo app (`http::endpoints::demo`) once per public
//! URL and prints the address to open. Its secret is never printed: only the server
//! (which holds the master key) uses it.

use crate::admin::Actor;
use crate::admin::apps;
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};
use crate::http::endpoints::demo;

pub async fn run(backend: &Backend, base: &str) -> Result<(), String> {
    let clients = backend
        .store
        .list_clients()
        .await
        .map_err(|e| e.to_string())?;
    let client = match clients.into_iter().find(|c| demo::is_demo_app(c, base)) {
        Some(client) => client,
        None => {
            apps::create(
                &backend.store,
                &backend.master,
                &Actor::cli(),
                demo::new_app(base),
                SystemClock.now(),
            )
            .await
            .map_err(|e| e.to_string())?
            .client
        }
    };
    println!(
        "The demo app \"{}\" is {}; its redirect URI is {}.",
        client.name,
        client.client_id,
        demo::callback_uri(base)
    );
    println!("While `gatehouse serve` runs, open this address and sign in as one of your users:");
    println!("{base}/demo?client_id={}", client.client_id);
    Ok(())
}
