//! The component kit. Every component is accessible (labels, focus rings,
//! keyboard) and themed for light and dark. Attributes and event handlers
//! given at the call site (`attr:type="submit"`, `on:click=…`) land on the
//! component's root element (Leptos 0.8 attribute spreading).

mod badge;
mod button;
mod card;
mod dialog;
mod empty;
mod feedback;
mod form;
mod navigate;
mod preferences;
mod skeleton;
mod table;
mod tabs;
mod toast;

pub use badge::{Badge, LiveIndicator, Tone};
pub use button::{Button, ButtonVariant};
pub use card::Card;
pub use dialog::Dialog;
pub use empty::EmptyState;
pub use feedback::{banner_error, field_error, password_feedback, toast_result};
pub use form::{Checkbox, ErrorNotice, FormError, Input, Select, Switch, TextArea, COMPACT_CONTROL};
pub use navigate::hard_navigate;
pub use preferences::{LanguageSwitcher, SaveLocale, ThemeToggle};
pub use skeleton::Skeleton;
pub use table::{Column, DataTable};
pub use tabs::{TabPanel, Tabs};
pub use toast::{use_toasts, ToastKind, Toaster, Toasts};
