-- Gatehouse schema, version 18: the branding of the hosted pages (Okta's Brands and
-- Themes): one brand row with the org's name and colours, and the uploaded logo and
-- favicon apart from it, so that a page reads the row without the image bytes.
CREATE TABLE brand (
    id TEXT PRIMARY KEY CHECK (id = 'default'),
    name TEXT NOT NULL,
    primary_color TEXT NOT NULL,
    secondary_color TEXT NOT NULL,
    logo_version BIGINT,
    favicon_version BIGINT,
    updated_at BIGINT NOT NULL,
    -- Raised by every write; a write names the version it read (optimistic concurrency).
    version BIGINT NOT NULL
);

CREATE TABLE brand_images (
    kind TEXT PRIMARY KEY CHECK (kind IN ('logo', 'favicon')),
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL
);
