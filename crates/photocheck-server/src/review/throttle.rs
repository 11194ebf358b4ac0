//! Password guessing, bounded: failed logins count against the address, the account, and the pair,
//! and past a free allowance each further failure locks that key out for twice as long as the last
//! (429 with `Retry-After`); password hashes run a few at a time, so a flood of logins waits in a
//! short queue, or is turned away, instead of each allocating argon2's 19 MiB at once.
//!
//! The counts live in this process: behind N API nodes a guesser gets N times the allowance, still
//! a few guesses a minute per account rather than thousands.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many failures each kind of key may have before it is locked, and how long the locks last.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// Failures from one address for one account before the pair is locked: a reviewer's typos.
    pub free_per_pair: u32,
    /// Failures from one address, over all names (a guesser trying many accounts).
    pub free_per_address: u32,
    /// Failures for one account, over all addresses (a guesser with many addresses). Higher than the
    /// others: a lock on the account also keeps its owner out.
    pub free_per_account: u32,
    /// The first lock; each further failure doubles it.
    pub first_lock: Duration,
    pub longest_lock: Duration,
    /// A key with no failure for this long starts again from nothing.
    pub forget_after: Duration,
    /// Password checks running at once (each holds argon2's memory, 19 MiB).
    pub hashing_slots: usize,
    /// Logins waiting for a slot; beyond these a login is told to come back.
    pub hashing_queue: usize,
    /// Keys remembered; a flood from more addresses than this drops the unlocked ones first.
    pub max_keys: usize,
}

impl Default for LoginPolicy {
    fn default() -> LoginPolicy {
        LoginPolicy {
            free_per_pair: 5,
            free_per_address: 20,
            free_per_account: 50,
            first_lock: Duration::from_secs(2),
            longest_lock: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(60 * 60),
            hashing_slots: 2,
            hashing_queue: 16,
            max_keys: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Why a login is not even checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turned {
    /// Too many failures for this account or address: try again after this long.
    Locked(Duration),
    /// Every hashing slot is busy and the queue is full.
    Busy,
}

impl Turned {
    /// Whole seconds for `Retry-After`, at least one.
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Turned::Locked(d) => d.as_secs_f64().ceil().max(1.0) as u64,
            Turned::Busy => 1,
        }
    }
}

/// The keys one login attempt counts against.
#[derive(Debug, Clone)]
pub struct Attempt {
    keys: [(Kind, String); 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pair,
    Address,
    Account,
}

impl Attempt {
    /// `name` as typed (trimmed, at most the form's length limit); `from` the peer's address, when
    /// the server knows it.
    pub fn new(name: &str, from: Option<IpAddr>) -> Attempt {
        let name = name.to_lowercase();
        let addr = from.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
        Attempt {
            keys: [
                (Kind::Pair, format!("{addr} {name}")),
                (Kind::Address, addr),
                (Kind::Account, name),
            ],
        }
    }
}

/// Threads of their own for password hashing. On tokio's blocking pool every hash could land on
/// another thread, each with a malloc arena keeping the 19 MiB it touched: 22 checked guesses left
/// a server at 400 MB resident; on these threads, each reusing one argon2 block
/// (`auth::verify_password`), 78 MB (benches/login-flood.sh).
struct HashThreads {
    jobs: Mutex<std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>>,
}

impl HashThreads {
    fn new(threads: usize) -> HashThreads {
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || loop {
                    let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        HashThreads {
            jobs: Mutex::new(tx),
        }
    }
}

pub struct LoginThrottle {
    policy: LoginPolicy,
    hashers: HashThreads,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    strikes: Mutex<HashMap<(u8, String), Strikes>>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl LoginThrottle {
    pub fn new(policy: LoginPolicy) -> LoginThrottle {
        LoginThrottle {
            hashers: HashThreads::new(policy.hashing_slots.max(1)),
            slots: Arc::new(Semaphore::new(policy.hashing_slots.max(1))),
            waiting: AtomicUsize::new(0),
            strikes: Mutex::new(HashMap::new()),
            policy,
        }
    }

    /// Whether the attempt may be checked at all: none of its keys is locked.
    pub fn admit(&self, attempt: &Attempt, now: Instant) -> Result<(), Turned> {
        let strikes = self.strikes.lock().unwrap_or_else(|p| p.into_inner());
        let longest = attempt
            .keys
            .iter()
            .filter_map(|(kind, key)| strikes.get(&(*kind as u8, key.clone())))
            .filter_map(|s| s.locked_until)
            .filter(|until| *until > now)
            .max();
        match longest {
            Some(until) => Err(Turned::Locked(until - now)),
            None => Ok(()),
        }
    }

    /// A slot to hash in: at once if one is free, after a short wait in line otherwise; `Busy` when
    /// the line is full. Dropping the permit frees the slot.
    pub async fn hashing_slot(&self) -> Result<OwnedSemaphorePermit, Turned> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.policy.hashing_queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Turned::Busy);
        }
        let permit = Arc::clone(&self.slots).acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        permit.map_err(|_| Turned::Busy)
    }

    /// Runs `check` (a password hash) on the hashing threads, holding `slot` until it is done. None
    /// when the threads are gone.
    pub async fn hash<T: Send + 'static>(
        &self,
        slot: OwnedSemaphorePermit,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = Box::new(move || {
            let _ = tx.send(check());
            drop(slot);
        });
        self.hashers
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .ok()?;
        rx.await.ok()
    }

    /// A wrong name or password: one more strike on every key, and a lock on those past their
    /// allowance.
    pub fn failed(&self, attempt: &Attempt, now: Instant) {
        let p = &self.policy;
        let mut strikes = self.strikes.lock().unwrap_or_else(|p| p.into_inner());
        if strikes.len() + attempt.keys.len() > p.max_keys {
            forget_stale(&mut strikes, p, now);
        }
        for (kind, key) in &attempt.keys {
            let id = (*kind as u8, key.clone());
            if !strikes.contains_key(&id) && strikes.len() >= p.max_keys {
                // Every remembered key is locked: an attack from that many addresses at once. The
                // locks already in place keep working; this key goes uncounted.
                continue;
            }
            let s = strikes.entry(id).or_insert(Strikes {
                failures: 0,
                last: now,
                locked_until: None,
            });
            if now.duration_since(s.last) > p.forget_after {
                s.failures = 0;
            }
            s.failures += 1;
            s.last = now;
            let free = match kind {
                Kind::Pair => p.free_per_pair,
                Kind::Address => p.free_per_address,
                Kind::Account => p.free_per_account,
            };
            if s.failures > free {
                let doublings = (s.failures - free - 1).min(20);
                let lock = p
                    .first_lock
                    .saturating_mul(1 << doublings)
                    .min(p.longest_lock);
                s.locked_until = Some(now + lock);
            }
        }
    }

    /// A correct password: the pair and the account start again (the address does not, or one
    /// owned account would reset a guesser's count between guesses at others).
    pub fn succeeded(&self, attempt: &Attempt) {
        let mut strikes = self.strikes.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, key) in &attempt.keys {
            if *kind != Kind::Address {
                strikes.remove(&(*kind as u8, key.clone()));
            }
        }
    }
}

/// Drops keys whose failures are forgotten, then, if still full, every key not locked now.
fn forget_stale(strikes: &mut HashMap<(u8, String), Strikes>, p: &LoginPolicy, now: Instant) {
    strikes.retain(|_, s| now.duration_since(s.last) <= p.forget_after);
    if strikes.len() + 3 > p.max_keys {
        strikes.retain(|_, s| s.locked_until.is_some_and(|u| u > now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            free_per_pair: 2,
            free_per_address: 4,
            free_per_account: 6,
            first_lock: Duration::from_secs(2),
            longest_lock: Duration::from_secs(10),
            forget_after: Duration::from_secs(100),
            hashing_slots: 1,
            hashing_queue: 1,
            max_keys: 1000,
        }
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn locks_after_the_allowance_doubling_up_to_the_longest() {
        let t = LoginThrottle::new(policy());
        let a = Attempt::new("anna", ip(1));
        let now = Instant::now();
        for _ in 0..2 {
            assert_eq!(t.admit(&a, now), Ok(()));
            t.failed(&a, now);
        }
        assert_eq!(t.admit(&a, now), Ok(()), "two typos are free");
        t.failed(&a, now);
        assert_eq!(
            t.admit(&a, now),
            Err(Turned::Locked(Duration::from_secs(2)))
        );
        let later = now + Duration::from_secs(3);
        assert_eq!(t.admit(&a, later), Ok(()));
        t.failed(&a, later);
        assert_eq!(
            t.admit(&a, later),
            Err(Turned::Locked(Duration::from_secs(4)))
        );
        for _ in 0..10 {
            t.failed(&a, later);
        }
        assert_eq!(
            t.admit(&a, later),
            Err(Turned::Locked(Duration::from_secs(10))),
            "capped at the longest lock"
        );
        // Another reviewer on another address is not affected.
        assert_eq!(t.admit(&Attempt::new("bo", ip(2)), later), Ok(()));
        // Names are counted case-blind: "ANNA" is the same account.
        assert!(t.admit(&Attempt::new("ANNA", ip(1)), later).is_err());
    }

    #[test]
    fn many_names_from_one_address_and_one_name_from_many_addresses_are_locked() {
        let t = LoginThrottle::new(policy());
        let now = Instant::now();
        for i in 0..5 {
            t.failed(&Attempt::new(&format!("user{i}"), ip(9)), now);
        }
        assert!(matches!(
            t.admit(&Attempt::new("someone-new", ip(9)), now),
            Err(Turned::Locked(_))
        ));
        for i in 0..7 {
            t.failed(&Attempt::new("sam", ip(100 + i)), now);
        }
        assert!(matches!(
            t.admit(&Attempt::new("sam", ip(200)), now),
            Err(Turned::Locked(_))
        ));
        assert_eq!(t.admit(&Attempt::new("anna", ip(200)), now), Ok(()));
    }

    #[test]
    fn success_clears_the_account_but_not_the_address_and_old_failures_are_forgotten() {
        let t = LoginThrottle::new(policy());
        let now = Instant::now();
        let a = Attempt::new("anna", ip(1));
        t.failed(&a, now);
        t.failed(&a, now);
        t.succeeded(&a);
        t.failed(&a, now);
        t.failed(&a, now);
        assert_eq!(t.admit(&a, now), Ok(()), "the pair started again");
        t.failed(&Attempt::new("x", ip(1)), now);
        assert!(
            t.admit(&Attempt::new("y", ip(1)), now).is_err(),
            "the address kept its five failures"
        );
        let much_later = now + Duration::from_secs(1000);
        t.failed(&a, much_later);
        assert_eq!(t.admit(&a, much_later), Ok(()));
    }

    #[test]
    fn a_full_table_forgets_unlocked_keys_and_keeps_locks() {
        let t = LoginThrottle::new(LoginPolicy {
            max_keys: 9,
            ..policy()
        });
        let now = Instant::now();
        let locked = Attempt::new("anna", ip(1));
        for _ in 0..3 {
            t.failed(&locked, now);
        }
        for i in 0..50 {
            t.failed(&Attempt::new(&format!("u{i}"), ip(50 + i)), now);
            assert!(t.strikes.lock().unwrap().len() <= 9);
        }
        assert!(
            t.admit(&locked, now).is_err(),
            "the lock survived the flood"
        );
    }

    #[tokio::test]
    async fn hashing_waits_in_a_short_line_and_turns_away_beyond_it() {
        let t = Arc::new(LoginThrottle::new(policy()));
        let first = t.hashing_slot().await.expect("a free slot");
        let waiter = {
            let t = Arc::clone(&t);
            tokio::spawn(async move { t.hashing_slot().await.map(|_| ()) })
        };
        while t.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(t.hashing_slot().await.err(), Some(Turned::Busy));
        drop(first);
        assert_eq!(waiter.await.unwrap(), Ok(()));
    }
}
