//! Column helpers shared by every migration, so types stay identical across tables.

use sea_orm_migration::prelude::*;

pub(crate) fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

pub(crate) fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
}

pub(crate) fn uuid_pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().primary_key().to_owned()
}

pub(crate) fn uuid_col(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

pub(crate) fn fk(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(on_delete).to_owned()
}

/// A foreign key to `organizations.id`; rows go with their organisation.
pub(crate) fn org_fk(
    name: &str,
    table: impl IntoIden + 'static,
    col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    fk(name, (table, col), (Alias::new("organizations"), Alias::new("id")), ForeignKeyAction::Cascade)
}

/// A nullable foreign key to `users.id`: the row outlives its user.
pub(crate) fn user_fk(
    name: &str,
    table: impl IntoIden + 'static,
    col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    fk(name, (table, col), (Alias::new("users"), Alias::new("id")), ForeignKeyAction::SetNull)
}

pub(crate) fn text(col: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).not_null().to_owned()
}

/// A (non-unique) index on `cols`.
pub(crate) async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    m.create_index(index_def(name, table, cols)).await
}

pub(crate) async fn unique_index(
    m: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    m.create_index(index_def(name, table, cols).unique().to_owned()).await
}

fn index_def(name: &str, table: impl IntoIden + 'static, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create().name(name).table(table).to_owned();
    for c in cols {
        i.col(Alias::new(*c));
    }
    i
}
