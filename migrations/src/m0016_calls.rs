//! Phone calls through LiveKit: each organisation's telephony settings (its
//! LiveKit project, default trunk and caller number), its SIP trunks as
//! created in LiveKit, the calls themselves and every event that touched
//! one (the call's timeline).
//!
//! A call row is written *before* any request to LiveKit (status
//! `initiated`), so a crash between the two never loses or repeats a dial.
//! `Idempotency-Key` repeats are found by `(org_id, idempotency_key)`;
//! redelivered LiveKit webhooks by their event id (`call_events.event_id`,
//! unique; NULL for events that are not webhooks, which both databases
//! allow more than once in a unique index).

use sea_orm_migration::prelude::*;

use crate::cols::{index, org_fk, text, ts, ts_null, unique_index, user_fk, uuid_col, uuid_pk};

#[derive(DeriveIden)]
enum TelephonySettings {
    Table,
    OrgId,
    LivekitUrl,
    LivekitApiKey,
    /// Sealed with the server's secret key, bound to the organisation.
    LivekitSecretCiphertext,
    LivekitSecretHint,
    DefaultTrunkId,
    DefaultCallerNumber,
    LastTestedAt,
    LastTestOk,
    LastTestLatencyMs,
    LastTestError,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SipTrunks {
    Table,
    Id,
    OrgId,
    /// `outbound` or `inbound`.
    Direction,
    Name,
    /// LiveKit's id for the trunk (`ST_…`).
    LivekitTrunkId,
    Address,
    /// JSON array of E.164 numbers.
    Numbers,
    AuthUsername,
    AuthPasswordCiphertext,
    /// Inbound: the agent calls to these numbers reach, and LiveKit's
    /// dispatch rule id.
    AgentId,
    LivekitDispatchRuleId,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    Id,
    OrgId,
    /// `outbound` or `inbound`.
    Direction,
    ProspectId,
    AgentId,
    TrunkId,
    ToNumber,
    FromNumber,
    Status,
    SipStatus,
    FailureReason,
    RoomName,
    /// The template variables rendered for the agent, as placed.
    Variables,
    PlacedByUser,
    PlacedByApiKey,
    IdempotencyKey,
    /// SHA-256 of the request body an idempotency key was first used with.
    RequestHash,
    Outcome,
    RecordingKey,
    RecordingDurationMs,
    CreatedAt,
    RingingAt,
    AnsweredAt,
    EndedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CallEvents {
    Table,
    Id,
    CallId,
    OrgId,
    /// `webhook`, `request` (our own call to LiveKit), `user`, `worker`.
    Source,
    Kind,
    /// LiveKit's webhook event id; NULL for other sources.
    EventId,
    /// The status before and after; equal when the event changed nothing.
    FromStatus,
    ToStatus,
    /// Why the state stayed as it was (`already_ended`, `behind`), if it did.
    Ignored,
    Data,
    At,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TelephonySettings::Table)
                .col(uuid_pk(TelephonySettings::OrgId))
                .col(ColumnDef::new(TelephonySettings::LivekitUrl).string_len(500).null())
                .col(ColumnDef::new(TelephonySettings::LivekitApiKey).string_len(200).null())
                .col(ColumnDef::new(TelephonySettings::LivekitSecretCiphertext).text().null())
                .col(ColumnDef::new(TelephonySettings::LivekitSecretHint).string_len(8).null())
                .col(ColumnDef::new(TelephonySettings::DefaultTrunkId).uuid().null())
                .col(ColumnDef::new(TelephonySettings::DefaultCallerNumber).string_len(20).null())
                .col(ts_null(TelephonySettings::LastTestedAt))
                .col(ColumnDef::new(TelephonySettings::LastTestOk).boolean().null())
                .col(ColumnDef::new(TelephonySettings::LastTestLatencyMs).integer().null())
                .col(ColumnDef::new(TelephonySettings::LastTestError).string_len(500).null())
                .col(ColumnDef::new(TelephonySettings::UpdatedBy).uuid().null())
                .col(ts(TelephonySettings::UpdatedAt))
                .foreign_key(&mut org_fk(
                    "fk_telephony_settings_org",
                    TelephonySettings::Table,
                    TelephonySettings::OrgId,
                ))
                .foreign_key(&mut user_fk(
                    "fk_telephony_settings_updated_by",
                    TelephonySettings::Table,
                    TelephonySettings::UpdatedBy,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SipTrunks::Table)
                .col(uuid_pk(SipTrunks::Id))
                .col(uuid_col(SipTrunks::OrgId))
                .col(text(SipTrunks::Direction, 16))
                .col(text(SipTrunks::Name, 120))
                .col(text(SipTrunks::LivekitTrunkId, 64))
                .col(text(SipTrunks::Address, 255))
                .col(ColumnDef::new(SipTrunks::Numbers).json().not_null())
                .col(ColumnDef::new(SipTrunks::AuthUsername).string_len(200).null())
                .col(ColumnDef::new(SipTrunks::AuthPasswordCiphertext).text().null())
                .col(ColumnDef::new(SipTrunks::AgentId).uuid().null())
                .col(ColumnDef::new(SipTrunks::LivekitDispatchRuleId).string_len(64).null())
                .col(ColumnDef::new(SipTrunks::CreatedBy).uuid().null())
                .col(ts(SipTrunks::CreatedAt))
                .foreign_key(&mut org_fk("fk_sip_trunks_org", SipTrunks::Table, SipTrunks::OrgId))
                .foreign_key(&mut user_fk("fk_sip_trunks_created_by", SipTrunks::Table, SipTrunks::CreatedBy))
                .to_owned(),
        )
        .await?;
        index(m, "ix_sip_trunks_org", SipTrunks::Table, &["org_id", "created_at"]).await?;

        m.create_table(
            Table::create()
                .table(Calls::Table)
                .col(uuid_pk(Calls::Id))
                .col(uuid_col(Calls::OrgId))
                .col(text(Calls::Direction, 16))
                .col(ColumnDef::new(Calls::ProspectId).uuid().null())
                .col(ColumnDef::new(Calls::AgentId).uuid().null())
                .col(ColumnDef::new(Calls::TrunkId).uuid().null())
                .col(text(Calls::ToNumber, 20))
                .col(ColumnDef::new(Calls::FromNumber).string_len(20).null())
                .col(text(Calls::Status, 16))
                .col(ColumnDef::new(Calls::SipStatus).integer().null())
                .col(ColumnDef::new(Calls::FailureReason).string_len(500).null())
                .col(text(Calls::RoomName, 128))
                .col(ColumnDef::new(Calls::Variables).json().not_null())
                .col(ColumnDef::new(Calls::PlacedByUser).uuid().null())
                .col(ColumnDef::new(Calls::PlacedByApiKey).uuid().null())
                .col(ColumnDef::new(Calls::IdempotencyKey).string_len(255).null())
                .col(ColumnDef::new(Calls::RequestHash).string_len(64).null())
                .col(ColumnDef::new(Calls::Outcome).string_len(32).null())
                .col(ColumnDef::new(Calls::RecordingKey).string_len(500).null())
                .col(ColumnDef::new(Calls::RecordingDurationMs).big_integer().null())
                .col(ts(Calls::CreatedAt))
                .col(ts_null(Calls::RingingAt))
                .col(ts_null(Calls::AnsweredAt))
                .col(ts_null(Calls::EndedAt))
                .col(ts(Calls::UpdatedAt))
                .foreign_key(&mut org_fk("fk_calls_org", Calls::Table, Calls::OrgId))
                .foreign_key(&mut crate::cols::fk(
                    "fk_calls_prospect",
                    (Calls::Table, Calls::ProspectId),
                    (Alias::new("prospects"), Alias::new("id")),
                    ForeignKeyAction::SetNull,
                ))
                .foreign_key(&mut crate::cols::fk(
                    "fk_calls_agent",
                    (Calls::Table, Calls::AgentId),
                    (Alias::new("agents"), Alias::new("id")),
                    ForeignKeyAction::SetNull,
                ))
                .foreign_key(&mut crate::cols::fk(
                    "fk_calls_trunk",
                    (Calls::Table, Calls::TrunkId),
                    (SipTrunks::Table, SipTrunks::Id),
                    ForeignKeyAction::SetNull,
                ))
                .foreign_key(&mut user_fk("fk_calls_placed_by", Calls::Table, Calls::PlacedByUser))
                .to_owned(),
        )
        .await?;
        // The list: newest first per organisation, and by status.
        index(m, "ix_calls_org_created", Calls::Table, &["org_id", "created_at", "id"]).await?;
        index(m, "ix_calls_org_status", Calls::Table, &["org_id", "status", "created_at"]).await?;
        index(m, "ix_calls_prospect", Calls::Table, &["prospect_id", "created_at"]).await?;
        unique_index(m, "ux_calls_room", Calls::Table, &["room_name"]).await?;
        unique_index(m, "ux_calls_idempotency", Calls::Table, &["org_id", "idempotency_key"]).await?;

        m.create_table(
            Table::create()
                .table(CallEvents::Table)
                .col(uuid_pk(CallEvents::Id))
                .col(uuid_col(CallEvents::CallId))
                .col(uuid_col(CallEvents::OrgId))
                .col(text(CallEvents::Source, 16))
                .col(text(CallEvents::Kind, 64))
                .col(ColumnDef::new(CallEvents::EventId).string_len(128).null())
                .col(text(CallEvents::FromStatus, 16))
                .col(text(CallEvents::ToStatus, 16))
                .col(ColumnDef::new(CallEvents::Ignored).string_len(32).null())
                .col(ColumnDef::new(CallEvents::Data).json().not_null())
                .col(ts(CallEvents::At))
                .foreign_key(&mut crate::cols::fk(
                    "fk_call_events_call",
                    (CallEvents::Table, CallEvents::CallId),
                    (Calls::Table, Calls::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "ix_call_events_call", CallEvents::Table, &["call_id", "at"]).await?;
        unique_index(m, "ux_call_events_event_id", CallEvents::Table, &["event_id"]).await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("migrations are forward-only".into()))
    }
}
