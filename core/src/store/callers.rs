//! What a store remembers about recent callers between requests: their profile, and the tags their task
//! creations named. A request that finds them here skips one or two lookups, which on a busy database are
//! a large share of its work (measured through pgbench: each dropped lookup lifted task creation by
//! 15–25%).
//!
//! Nothing written relies on them blindly. The one-statement task creation re-checks the profile and
//! every tag it uses in the same statement, and falls back to a transaction that reads them fresh. Reads
//! that use a remembered profile (listing, search) see a profile change made through this store at once,
//! and one made through another replica within `CALLER_TTL`.
//!
//! It remembers which projects each caller has archived, so a listing (which leaves their tasks out) needs
//! no lookup for them: archiving, restoring or deleting a project through this store shows in listings at
//! once, through another replica within `CALLER_TTL` (measured through pgbench: the lookup cost list 17 %
//! and search 9 %).
//!
//! It also remembers the personal access tokens recently presented (by the hash of their secret), so a
//! request with a token costs no more lookups than one with a login session. A token revoked through this
//! store stops working at once; one revoked through another replica within `CALLER_TTL`. Expiry is checked
//! on every request against the remembered expiry, so it is exact.

use crate::model::TagRef;
use crate::store::Owner;
use crate::store::tokens::{Grant, SecretHash};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a remembered profile answers reads.
pub const CALLER_TTL: Duration = Duration::from_secs(5);

/// Past this many callers the memory starts over (about 2 MB of profiles and tags at the limit).
const MAX_CALLERS: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct Callers {
    entries: Mutex<HashMap<Uuid, Remembered>>,
    /// Bumped by every `forget`: a lookup that began before one does not remember what it read, which
    /// may be the profile from just before the change.
    generation: AtomicU64,
    /// Access tokens by the hash of their secret, with when they were read.
    tokens: Mutex<HashMap<SecretHash, (Grant, Instant)>>,
    /// Bumped by every `forget_token`, as `generation` is by `forget`.
    token_generation: AtomicU64,
}

#[derive(Debug, Default)]
struct Remembered {
    owner: Option<(Owner, Instant)>,
    /// The caller's archived projects (whose tasks listings leave out), with when they were read.
    archived: Option<(Vec<Uuid>, Instant)>,
    /// By name key (the Unicode-lowercased name).
    tags: HashMap<String, TagRef>,
}

impl Callers {
    fn entries(&self) -> MutexGuard<'_, HashMap<Uuid, Remembered>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Update the caller's entry, unless something was forgotten since generation `since`: then what the
    /// caller read may predate the change. Checked under the lock that `forget` bumps the generation under.
    fn update(&self, id: Uuid, since: u64, f: impl FnOnce(&mut Remembered)) {
        let mut entries = self.entries();
        if self.generation() != since {
            return;
        }
        if entries.len() >= MAX_CALLERS && !entries.contains_key(&id) {
            entries.clear();
        }
        f(entries.entry(id).or_default());
    }

    /// The caller's profile if it was read less than `CALLER_TTL` before `now`.
    pub(crate) fn owner(&self, id: Uuid, now: Instant) -> Option<Owner> {
        let entries = self.entries();
        let (owner, read_at) = entries.get(&id)?.owner.as_ref()?;
        (now.saturating_duration_since(*read_at) < CALLER_TTL).then(|| owner.clone())
    }

    /// Where a lookup starts: pass it to `remember_owner` with what the lookup read.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn remember_owner(&self, owner: &Owner, read_at: Instant, since: u64) {
        self.update(owner.id, since, |entry| {
            entry.owner = Some((owner.clone(), read_at));
        });
    }

    /// The caller's archived projects if they were read less than `CALLER_TTL` before `now`.
    pub(crate) fn archived(&self, id: Uuid, now: Instant) -> Option<Vec<Uuid>> {
        let entries = self.entries();
        let (archived, read_at) = entries.get(&id)?.archived.as_ref()?;
        (now.saturating_duration_since(*read_at) < CALLER_TTL).then(|| archived.clone())
    }

    pub(crate) fn remember_archived(
        &self,
        id: Uuid,
        archived: Vec<Uuid>,
        read_at: Instant,
        since: u64,
    ) {
        self.update(id, since, |entry| {
            entry.archived = Some((archived, read_at))
        });
    }

    /// The caller's tags with these name keys, if every one is remembered.
    pub(crate) fn tags(&self, id: Uuid, keys: &[String]) -> Option<Vec<TagRef>> {
        let entries = self.entries();
        let known = &entries.get(&id)?.tags;
        keys.iter().map(|k| known.get(k).cloned()).collect()
    }

    pub(crate) fn remember_tags(&self, id: Uuid, tags: &[TagRef], since: u64) {
        self.update(id, since, |entry| {
            for tag in tags {
                entry.tags.insert(tag.name.to_lowercase(), tag.clone());
            }
        });
    }

    /// Drop everything remembered about the caller: their profile or one of their tags changed, or a
    /// write found what was remembered out of date.
    pub(crate) fn forget(&self, id: Uuid) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(&id);
    }

    fn tokens(&self) -> MutexGuard<'_, HashMap<SecretHash, (Grant, Instant)>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token with this secret hash if it was read less than `CALLER_TTL` before `now`.
    pub(crate) fn grant(&self, hash: &SecretHash, now: Instant) -> Option<Grant> {
        let tokens = self.tokens();
        let (grant, read_at) = tokens.get(hash)?;
        (now.saturating_duration_since(*read_at) < CALLER_TTL).then(|| grant.clone())
    }

    /// Where a token lookup starts: pass it to `remember_grant` with what the lookup read.
    pub(crate) fn token_generation(&self) -> u64 {
        self.token_generation.load(Ordering::Acquire)
    }

    /// Remember a token read at `read_at`, unless a token was revoked since generation `since` (the
    /// lookup may have read it just before its row went).
    pub(crate) fn remember_grant(
        &self,
        hash: SecretHash,
        grant: Grant,
        read_at: Instant,
        since: u64,
    ) {
        let mut tokens = self.tokens();
        if self.token_generation() != since {
            return;
        }
        if tokens.len() >= MAX_CALLERS && !tokens.contains_key(&hash) {
            tokens.clear();
        }
        tokens.insert(hash, (grant, read_at));
    }

    /// The token's use at `at` was recorded: the next minute of requests need not record it again.
    pub(crate) fn token_used(&self, hash: &SecretHash, at: Timestamp) {
        if let Some((grant, _)) = self.tokens().get_mut(hash) {
            grant.last_used_at = Some(at);
        }
    }

    /// Drop a revoked token.
    pub(crate) fn forget_token(&self, token_id: Uuid) {
        let mut tokens = self.tokens();
        self.token_generation.fetch_add(1, Ordering::AcqRel);
        tokens.retain(|_, (grant, _)| grant.token_id != token_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    fn owner(id: Uuid, zone: &str) -> Owner {
        Owner {
            id,
            email: "ada@example.com".into(),
            display_name: "Ada".into(),
            time_zone: zone.into(),
            tz: TimeZone::get(zone).unwrap(),
            created_at: Timestamp::UNIX_EPOCH,
            session_epoch: 0,
        }
    }

    fn tag(name: &str) -> TagRef {
        TagRef {
            id: Uuid::now_v7(),
            name: name.into(),
            color: "#6b7280".into(),
        }
    }

    /// A profile answers for `CALLER_TTL` after it was read, then not at all.
    #[test]
    fn profiles_expire() {
        let callers = Callers::default();
        let id = Uuid::now_v7();
        let read_at = Instant::now();
        assert!(callers.owner(id, read_at).is_none());
        callers.remember_owner(&owner(id, "Europe/Berlin"), read_at, callers.generation());
        let almost = read_at + CALLER_TTL - Duration::from_millis(1);
        assert_eq!(
            callers.owner(id, almost).unwrap().time_zone,
            "Europe/Berlin"
        );
        assert!(callers.owner(id, read_at + CALLER_TTL).is_none());
    }

    /// A lookup that began before a `forget` does not remember what it read: it may be the profile from
    /// just before the change that `forget` announced.
    #[test]
    fn a_lookup_overtaken_by_a_change_is_not_remembered() {
        let callers = Callers::default();
        let id = Uuid::now_v7();
        let since = callers.generation();
        callers.forget(id);
        callers.remember_owner(&owner(id, "UTC"), Instant::now(), since);
        callers.remember_tags(id, &[tag("work")], since);
        assert!(callers.owner(id, Instant::now()).is_none());
        assert!(callers.tags(id, &["work".into()]).is_none());
    }

    /// Tags are found by name key, only all together, and forgotten with the profile.
    #[test]
    fn tags_all_or_nothing() {
        let callers = Callers::default();
        let id = Uuid::now_v7();
        let (work, home) = (tag("Work"), tag("home"));
        callers.remember_tags(id, &[work.clone(), home.clone()], callers.generation());
        assert_eq!(
            callers.tags(id, &["home".into(), "work".into()]).unwrap(),
            [home, work]
        );
        assert!(
            callers
                .tags(id, &["work".into(), "garden".into()])
                .is_none()
        );
        assert!(callers.tags(Uuid::now_v7(), &["work".into()]).is_none());
        callers.remember_owner(&owner(id, "UTC"), Instant::now(), callers.generation());
        callers.forget(id);
        assert!(callers.tags(id, &["work".into()]).is_none());
        assert!(callers.owner(id, Instant::now()).is_none());
    }

    /// Memory is bounded: a caller beyond `MAX_CALLERS` starts it over.
    #[test]
    fn bounded() {
        let callers = Callers::default();
        let now = Instant::now();
        let first = Uuid::now_v7();
        callers.remember_owner(&owner(first, "UTC"), now, 0);
        for _ in 1..MAX_CALLERS {
            callers.remember_owner(&owner(Uuid::now_v7(), "UTC"), now, 0);
        }
        assert!(callers.owner(first, now).is_some());
        callers.remember_owner(&owner(Uuid::now_v7(), "UTC"), now, 0);
        assert!(callers.owner(first, now).is_none());
        assert_eq!(callers.entries().len(), 1);
    }

    fn grant(token_id: Uuid) -> Grant {
        Grant {
            token_id,
            user_id: Uuid::now_v7(),
            scope: crate::store::TokenScope::Read,
            expires_at: None,
            last_used_at: None,
        }
    }

    /// A token answers for `CALLER_TTL` after it was read, and not once revoked, even by a lookup that
    /// began before the revocation.
    #[test]
    fn tokens_expire_and_are_forgotten() {
        let callers = Callers::default();
        let (hash, id) = ([1u8; 32], Uuid::now_v7());
        let read_at = Instant::now();
        callers.remember_grant(hash, grant(id), read_at, callers.token_generation());
        let almost = read_at + CALLER_TTL - Duration::from_millis(1);
        assert_eq!(callers.grant(&hash, almost).unwrap().token_id, id);
        assert!(callers.grant(&hash, read_at + CALLER_TTL).is_none());
        callers.forget_token(id);
        assert!(callers.grant(&hash, read_at).is_none());
        let since = callers.token_generation();
        callers.forget_token(id);
        callers.remember_grant(hash, grant(id), read_at, since);
        assert!(callers.grant(&hash, read_at).is_none());
    }
}
