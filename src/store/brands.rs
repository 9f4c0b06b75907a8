//! The branding of the hosted pages: one brand row (name, colours, which images exist)
//! and the images apart from it, so a page render reads the row without the bytes.

use async_trait::async_trait;

use super::StoreResult;
use super::db::{Arg, Backend, Row};
use crate::clock::UnixTime;

/// The org's brand and theme (Okta's Brand and Theme objects, folded into one row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub name: String,
    /// `#rrggbb`, validated by `admin::brands`.
    pub primary_color: String,
    pub secondary_color: String,
    /// When the logo was uploaded (its cache-busting version), if there is one.
    pub logo_version: Option<UnixTime>,
    pub favicon_version: Option<UnixTime>,
    pub updated_at: UnixTime,
    /// The row version this was read at (0: never written).
    pub version: i64,
}

/// An uploaded image with its media type (sniffed from its bytes, never the upload's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandImage {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Logo,
    Favicon,
}

impl ImageKind {
    /// Its value in `brand_images.kind`, and its path under `/brand/`.
    pub fn path(self) -> &'static str {
        match self {
            ImageKind::Logo => "logo",
            ImageKind::Favicon => "favicon",
        }
    }

    /// The API field an error about it names.
    pub fn field(self) -> &'static str {
        match self {
            ImageKind::Logo => "logo",
            ImageKind::Favicon => "favicon",
        }
    }
}

#[async_trait]
pub trait BrandStore: Send + Sync {
    /// The brand row, if anyone ever set it.
    async fn get_brand(&self) -> StoreResult<Option<Brand>>;
    /// Writes the brand if its stored version is still `brand.version` (or, at version 0,
    /// if no row exists yet), raising the version; false when someone wrote in between.
    async fn put_brand(&self, brand: &Brand) -> StoreResult<bool>;
    async fn get_brand_image(&self, kind: ImageKind) -> StoreResult<Option<BrandImage>>;
    /// Stores (or with `None`, removes) an image.
    async fn put_brand_image(&self, kind: ImageKind, image: Option<&BrandImage>)
    -> StoreResult<()>;
}

fn brand_from_row(row: &impl Row) -> StoreResult<Brand> {
    Ok(Brand {
        name: row.text("name")?,
        primary_color: row.text("primary_color")?,
        secondary_color: row.text("secondary_color")?,
        logo_version: row.opt_int("logo_version")?,
        favicon_version: row.opt_int("favicon_version")?,
        updated_at: row.int("updated_at")?,
        version: row.int("version")?,
    })
}

#[async_trait]
impl<B: Backend> BrandStore for B {
    async fn get_brand(&self) -> StoreResult<Option<Brand>> {
        let row = self
            .fetch_optional("SELECT * FROM brand WHERE id = 'default'", &[])
            .await?;
        row.as_ref().map(brand_from_row).transpose()
    }

    /// The first write inserts (a concurrent first write makes the other insert a no-op:
    /// 0 rows); later ones update only the version they read.
    async fn put_brand(&self, b: &Brand) -> StoreResult<bool> {
        let args: [Arg<'_>; 7] = [
            (&b.name).into(),
            (&b.primary_color).into(),
            (&b.secondary_color).into(),
            b.logo_version.into(),
            b.favicon_version.into(),
            b.updated_at.into(),
            b.version.into(),
        ];
        let done = if b.version == 0 {
            self.execute(
                "INSERT INTO brand (id, name, primary_color, secondary_color, logo_version,
                                    favicon_version, updated_at, version)
                 VALUES ('default', $1, $2, $3, $4, $5, $6, $7 + 1)
                 ON CONFLICT (id) DO NOTHING",
                &args,
            )
            .await?
        } else {
            self.execute(
                "UPDATE brand SET name = $1, primary_color = $2, secondary_color = $3,
                        logo_version = $4, favicon_version = $5, updated_at = $6,
                        version = version + 1
                 WHERE id = 'default' AND version = $7",
                &args,
            )
            .await?
        };
        Ok(done == 1)
    }

    async fn get_brand_image(&self, kind: ImageKind) -> StoreResult<Option<BrandImage>> {
        let row = self
            .fetch_optional(
                "SELECT content_type, bytes FROM brand_images WHERE kind = $1",
                &[kind.path().into()],
            )
            .await?;
        row.map(|row| {
            Ok(BrandImage {
                content_type: row.text("content_type")?,
                bytes: row.bytes("bytes")?,
            })
        })
        .transpose()
    }

    async fn put_brand_image(
        &self,
        kind: ImageKind,
        image: Option<&BrandImage>,
    ) -> StoreResult<()> {
        match image {
            Some(image) => {
                self.execute(
                    "INSERT INTO brand_images (kind, content_type, bytes) VALUES ($1, $2, $3)
                     ON CONFLICT (kind) DO UPDATE
                     SET content_type = excluded.content_type, bytes = excluded.bytes",
                    &[
                        kind.path().into(),
                        (&image.content_type).into(),
                        (&image.bytes).into(),
                    ],
                )
                .await?
            }
            None => {
                self.execute(
                    "DELETE FROM brand_images WHERE kind = $1",
                    &[kind.path().into()],
                )
                .await?
            }
        };
        Ok(())
    }
}
