#![recursion_limit = "512"]

//! The server's integration tests, one binary: each module boots the real
//! router (or, in `multi_node`, the real binary) against fresh databases.
//! One binary rather than one per file: each links the whole app (≈1.4 GB
//! with line tables), so fourteen of them cost minutes of linking and
//! twenty gigabytes of disk per build.

#[macro_use]
mod common;

mod accounts;
mod agents;
mod analysis;
mod analytics;
mod api_keys;
mod authz;
mod billing;
mod calls;
mod campaigns;
mod copilot;
mod delivery;
mod dialer;
mod egress;
mod mail;
mod multi_node;
mod oauth;
mod openapi;
mod operations;
mod organisations;
mod prospects;
mod recordings;
mod rep_calls;
mod security;
mod site_config;
mod ssr_concurrency;
mod streams;
mod telephony;
mod voice_agent;
