//! The brand every hosted page shows (the org name, logo, favicon and theme colours),
//! without a database read on any request.
//!
//! What it holds: per process, the brand this process last read, as the pages use it.
//! How long: `BRAND_TTL` (5 seconds); a request that finds it older starts a refresh in
//! the background and is answered with the one it has. A change made through this
//! process's API is shown at once; one made elsewhere (the CLI, another instance)
//! within `BRAND_TTL`. Why a time-based cache may hold it: the brand grants nothing.
//!
//! How a page finds it: `layer` puts the current brand in a task-local for the
//! request, and `base.html` reads `current()`, so no handler has to carry it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::admin::brands;
use crate::clock::UnixTime;
use crate::store::{Brand, ImageKind};

use super::SharedState;

/// How long a process shows a brand it read.
pub const BRAND_TTL: i64 = 5;

/// What a page needs of the brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageBrand {
    pub name: String,
    /// The uploaded logo's URL; without one, the pages show Gatehouse's mark.
    pub logo_url: Option<String>,
    pub favicon_url: String,
    /// The theme's stylesheet, with the brand's version so a change is fetched anew.
    pub css_url: String,
}

impl PageBrand {
    pub fn of(brand: &Brand) -> PageBrand {
        PageBrand {
            name: brand.name.clone(),
            logo_url: brands::image_url(ImageKind::Logo, brand.logo_version),
            favicon_url: brands::image_url(ImageKind::Favicon, brand.favicon_version)
                .unwrap_or_else(|| "/assets/favicon.svg".to_string()),
            css_url: format!("/brand/theme.css?v={}", brand.version),
        }
    }
}

tokio::task_local! {
    static CURRENT: Arc<PageBrand>;
}

/// The brand of the page being rendered (the default outside a request).
pub fn current() -> Arc<PageBrand> {
    CURRENT
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::new(PageBrand::of(&brands::default_brand())))
}

/// When the cache was filled, before it ever was: the first request reads the brand.
const NEVER: UnixTime = UnixTime::MIN;

pub struct BrandCache {
    current: RwLock<(Arc<PageBrand>, UnixTime)>,
    refreshing: AtomicBool,
}

impl Default for BrandCache {
    fn default() -> Self {
        BrandCache {
            current: RwLock::new((Arc::new(PageBrand::of(&brands::default_brand())), NEVER)),
            refreshing: AtomicBool::new(false),
        }
    }
}

impl BrandCache {
    /// Shows `brand` from now on (a change this process made).
    pub fn set(&self, brand: &Brand, now: UnixTime) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        *current = (Arc::new(PageBrand::of(brand)), now);
    }

    fn never_read(&self) -> bool {
        self.current.read().unwrap_or_else(|e| e.into_inner()).1 == NEVER
    }

    fn get(&self, now: UnixTime) -> (Arc<PageBrand>, bool) {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        let stale = now.saturating_sub(current.1) >= BRAND_TTL;
        (Arc::clone(&current.0), stale)
    }
}

/// Puts the brand in the request's task-local; refreshes it in the background when stale.
pub async fn layer(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let now = state.clock.now();
    let (mut brand, stale) = state.brand.get(now);
    if state.brand.never_read() {
        // The first request waits for the read, so no page shows a default the
        // database has already changed.
        match brands::get(&state.store).await {
            Ok(read) => {
                state.brand.set(&read, now);
                brand = Arc::new(PageBrand::of(&read));
            }
            // The default until the next try, `BRAND_TTL` on: a store that is down
            // is not asked again by every request.
            Err(_) => state.brand.set(&brands::default_brand(), now),
        }
    } else if stale && !state.brand.refreshing.swap(true, Ordering::AcqRel) {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            match brands::get(&state.store).await {
                Ok(brand) => state.brand.set(&brand, now),
                Err(e) => tracing::warn!(error = %e, "could not read the brand"),
            }
            state.brand.refreshing.store(false, Ordering::Release);
        });
    }
    CURRENT.scope(brand, next.run(request)).await
}
