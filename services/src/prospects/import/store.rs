//! Where an import's file lives: `prospect_import_chunks`, 1 MiB per row,
//! written as the upload arrives and read back as a stream. The same table
//! holds the last dry run's problem rows (CSV) for download.

#[allow(unused_imports)]
use super::*;
use entity::prospect_import_chunks as chunks;

/// Bytes per stored chunk: big enough that a 512 MB file is 512 rows, small
/// enough that a reader holds little.
pub(super) const CHUNK_BYTES: usize = 1 << 20;
pub(super) const FILE: &str = "file";
pub(super) const PROBLEMS: &str = "problems";

pub(super) async fn put<C: ConnectionTrait>(
    db: &C,
    import_id: Uuid,
    kind: &str,
    seq: i32,
    data: Vec<u8>,
) -> ServiceResult<()> {
    chunks::ActiveModel {
        import_id: Set(import_id),
        kind: Set(kind.to_string()),
        seq: Set(seq),
        data: Set(data),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub(super) async fn forget<C: ConnectionTrait>(db: &C, import_id: Uuid, kind: &str) -> ServiceResult<()> {
    chunks::Entity::delete_many()
        .filter(chunks::Column::ImportId.eq(import_id))
        .filter(chunks::Column::Kind.eq(kind))
        .exec(db)
        .await?;
    Ok(())
}

/// One chunk of a stored stream, `None` past its end.
async fn fetch(
    db: &DatabaseConnection,
    import_id: Uuid,
    kind: &str,
    seq: i32,
) -> Result<Option<Vec<u8>>, sea_orm::DbErr> {
    let found = chunks::Entity::find()
        .filter(chunks::Column::ImportId.eq(import_id))
        .filter(chunks::Column::Kind.eq(kind))
        .filter(chunks::Column::Seq.eq(seq))
        .one(db)
        .await?;
    Ok(found.map(|c| c.data))
}

/// Appends bytes to a stored stream, one chunk row per [`CHUNK_BYTES`].
pub(super) struct ChunkWriter {
    import_id: Uuid,
    kind: &'static str,
    seq: i32,
    buf: Vec<u8>,
    pub(super) written: u64,
}

impl ChunkWriter {
    pub(super) fn new(import_id: Uuid, kind: &'static str) -> Self {
        ChunkWriter { import_id, kind, seq: 0, buf: Vec::with_capacity(CHUNK_BYTES), written: 0 }
    }

    pub(super) async fn write<C: ConnectionTrait>(&mut self, db: &C, mut bytes: &[u8]) -> ServiceResult<()> {
        while !bytes.is_empty() {
            let room = CHUNK_BYTES - self.buf.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.buf.extend_from_slice(now);
            self.written += now.len() as u64;
            bytes = rest;
            if self.buf.len() == CHUNK_BYTES {
                self.flush(db).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn flush<C: ConnectionTrait>(&mut self, db: &C) -> ServiceResult<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        put(db, self.import_id, self.kind, self.seq, data).await?;
        self.seq += 1;
        Ok(())
    }
}

/// Reads a stored stream with blocking `Read` calls (for the CSV reader,
/// on a blocking thread); a task fetches the chunks one at a time, at
/// most two ahead of the reader.
pub(super) struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<ServiceResult<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
}

pub(super) fn chunk_reader(db: DatabaseConnection, import_id: Uuid, kind: &'static str) -> ChunkReader {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        for seq in 0.. {
            let item = match fetch(&db, import_id, kind, seq).await {
                Ok(Some(data)) => Ok(data),
                Ok(None) => return,
                Err(e) => Err(ServiceError::from(e)),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    ChunkReader { rx, current: Vec::new(), pos: 0 }
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.current.len() {
            match self.rx.blocking_recv() {
                Some(Ok(next)) => {
                    self.current = next;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e.code.as_str())),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The stored stream as an HTTP body (the problems download).
pub fn stream(
    db: DatabaseConnection,
    import_id: Uuid,
    kind: &'static str,
) -> impl futures::Stream<Item = ServiceResult<Vec<u8>>> + Send + 'static {
    futures::stream::unfold(Some(0i32), move |seq| {
        let db = db.clone();
        async move {
            let seq = seq?;
            match fetch(&db, import_id, kind, seq).await {
                Ok(Some(data)) => Some((Ok(data), Some(seq + 1))),
                Ok(None) => None,
                Err(e) => Some((Err(ServiceError::from(e)), None)),
            }
        }
    })
}
