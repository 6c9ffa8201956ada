//! The consumers. Each takes a CloudEvent and answers Dapr's SUCCESS / RETRY / DROP, whether it is called
//! by the Dapr sidecar (Kubernetes) or by the in-process bus (dev mode).

pub mod audit;
pub mod notifier;
pub mod recurrence;
pub mod reminders;

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Recurrence,
    Reminders,
    Notifier,
    Audit,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Recurrence,
        Role::Reminders,
        Role::Notifier,
        Role::Audit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Recurrence => todo_contract::role::RECURRENCE,
            Role::Reminders => todo_contract::role::REMINDERS,
            Role::Notifier => todo_contract::role::NOTIFIER,
            Role::Audit => todo_contract::role::AUDIT,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown role {s:?}; roles are recurrence, reminders, notifier, audit")
            })
    }
}
