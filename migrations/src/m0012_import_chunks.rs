//! Import files stored in chunks instead of one value: a 512 MB file is
//! written as it arrives and read back as a stream, never held whole in
//! memory, on either database. The same table keeps a dry run's problem
//! rows (as CSV) for download. Pending uploads from before move into it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::cols::{fk, text, uuid_col};

#[derive(DeriveIden)]
enum ProspectImportChunks {
    Table,
    ImportId,
    /// `file` (the upload, raw bytes) or `problems` (the last dry run's problem rows, UTF-8 CSV).
    Kind,
    Seq,
    Data,
}

#[derive(DeriveIden)]
enum ProspectImports {
    Table,
    Id,
    FileBytes,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ProspectImportChunks::Table)
                .col(uuid_col(ProspectImportChunks::ImportId))
                .col(text(ProspectImportChunks::Kind, 16))
                .col(ColumnDef::new(ProspectImportChunks::Seq).integer().not_null())
                .col(ColumnDef::new(ProspectImportChunks::Data).binary().not_null())
                .primary_key(
                    Index::create()
                        .col(ProspectImportChunks::ImportId)
                        .col(ProspectImportChunks::Kind)
                        .col(ProspectImportChunks::Seq),
                )
                .foreign_key(&mut fk(
                    "fk_import_chunk_import",
                    (ProspectImportChunks::Table, ProspectImportChunks::ImportId),
                    (ProspectImports::Table, ProspectImports::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ProspectImports::Table)
                .add_column(ColumnDef::new(ProspectImports::FileBytes).big_integer().not_null().default(0))
                .to_owned(),
        )
        .await?;
        // Files waiting to be imported: their decoded UTF-8 text becomes the
        // first (only) chunk, read back as UTF-8.
        let db = m.get_connection();
        for sql in [
            "UPDATE prospect_imports SET file_bytes = LENGTH(data) WHERE data IS NOT NULL",
            "INSERT INTO prospect_import_chunks (import_id, kind, seq, data) \
             SELECT id, 'file', 0, data FROM prospect_imports WHERE data IS NOT NULL",
            "UPDATE prospect_imports SET encoding = 'utf8', data = NULL WHERE data IS NOT NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
