//! Store code shared by the SQLite and PostgreSQL backends.
//!
//! Each module here holds one `macro_rules!` body per concern; `store::sqlite` and
//! `store::postgres` each invoke it with their store type, row type and sqlx database
//! type, so both backends run the same statements and the same row mapping. The
//! statements use `$N` placeholders, which sqlx's SQLite driver accepts as well as
//! PostgreSQL. Where the dialects really differ, the module's doc comment says so and
//! the macro takes the per-backend piece as an argument.
//!
//! A macro rather than generic functions over `sqlx::Executor`/`sqlx::Row`: the
//! expansion is ordinary concrete code for each backend, without the `Decode`/`Encode`/
//! `ColumnIndex` bounds a generic version would need on every function.

pub(super) mod refresh;
pub(super) mod management;
pub(super) mod settings;
pub(super) mod directory;
pub(super) mod auth;
pub(super) mod maintenance;
