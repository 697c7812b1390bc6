//! Path building (RFC 4158 in small): a depth-first search from the leaf through the
//! certificates at hand to a trust anchor, matching issuers by name or key identifier.
//!
//! Each step checks the certificate's signature with the candidate issuer's key — a candidate
//! whose key did not sign it is not its issuer at all, only a namesake (another CA with the same
//! name: no path through it) — and that the issuer may issue certificates (basicConstraints
//! cA, pathLenConstraint, keyCertSign). A path that breaks a rule is kept only as the answer
//! when no clean path exists, so a cross-certificate or a re-keyed CA with the same name does
//! not hide a good path. The search is bounded in depth and in the number of steps tried.

use super::ChainContext;
use super::cert::Cert;
use super::fetch::Fetched;

/// Most certificates in a path, anchor included.
pub(crate) const MAX_DEPTH: usize = 10;
/// Most issuer candidates tried in one search, over all certificates.
const MAX_STEPS: usize = 64;
/// Most issuer candidates tried for one certificate.
const MAX_CANDIDATES: usize = 8;

/// A certificate of the search, and whether it is a trust anchor.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub cert: Cert,
    pub anchor: bool,
}

/// The path found: leaf first, ending with an anchor when `anchored`.
#[derive(Debug)]
pub(crate) struct Path {
    pub certs: Vec<Node>,
    pub anchored: bool,
    /// Why the path breaks a rule (when anchored), or why none reaches an anchor.
    pub error: Option<String>,
}

/// Builds the best path from `leaf`, fetching missing issuers when allowed.
pub(crate) fn build(leaf: Cert, ctx: &ChainContext<'_>, fetched: &mut Fetched<'_>) -> Path {
    let mut store = Vec::new();
    let anchor_ders = ctx.anchors.anchors.iter().map(|a| a.der.as_slice());
    add(&mut store, ctx, [leaf.der.as_slice()].into_iter());
    add(
        &mut store,
        ctx,
        anchor_ders.chain(ctx.pool.iter().map(Vec::as_slice)),
    );
    let mut fetch_error = None;
    loop {
        let best = Search::run(&store, ctx.at);
        let end = best.path.last().and_then(|i| store.get(*i));
        let Some(end) = end.filter(|_| !best.anchored && fetched.allowed()) else {
            return best.into_path(&store, fetch_error);
        };
        let before = store.len();
        if !fetched.asked(&end.cert.der) {
            if let Err(e) = fetched.fetch(&end.cert.der) {
                fetch_error = Some(e);
            }
            let certificates = std::mem::take(&mut fetched.certificates);
            add(&mut store, ctx, certificates.iter().map(Vec::as_slice));
            fetched.certificates = certificates;
        }
        if store.len() == before {
            return best.into_path(&store, fetch_error);
        }
    }
}

/// Adds the certificates that parse and are not there yet.
fn add<'d>(store: &mut Vec<Node>, ctx: &ChainContext<'_>, ders: impl Iterator<Item = &'d [u8]>) {
    for der in ders {
        if store.iter().any(|n| n.cert.der == der) {
            continue;
        }
        if let Ok(cert) = Cert::parse(der) {
            let anchor = ctx.anchors.find(der).is_some();
            store.push(Node { cert, anchor });
        }
    }
}

#[derive(Debug, Clone)]
struct Best {
    /// Indices into the store, leaf first.
    path: Vec<usize>,
    anchored: bool,
    error: Option<String>,
}

impl Best {
    /// Anchored beats not; clean beats broken; then the shorter anchored path, or the longer
    /// partial one (it got closer).
    fn score(&self) -> (bool, bool, isize) {
        let len = isize::try_from(self.path.len()).unwrap_or(isize::MAX);
        let clean = self.anchored && self.error.is_none();
        (self.anchored, clean, if self.anchored { -len } else { len })
    }

    fn into_path(self, store: &[Node], fetch_error: Option<String>) -> Path {
        let certs: Vec<Node> = self
            .path
            .iter()
            .filter_map(|i| store.get(*i))
            .cloned()
            .collect();
        let error = if self.anchored {
            self.error
        } else {
            let mut why = self.error.unwrap_or_else(|| no_issuer(certs.last()));
            if let Some(e) = fetch_error {
                why.push_str(&format!(" ({e})"));
            }
            Some(why)
        };
        Path {
            certs,
            anchored: self.anchored,
            error,
        }
    }
}

fn no_issuer(last: Option<&Node>) -> String {
    match last.map(|n| &n.cert) {
        Some(c) if c.is_self_issued() => {
            format!("{} is self-issued and not a trust anchor", c.subject_text())
        }
        Some(c) => format!(
            "no certificate of the issuer {} of {} among the trust anchors and the certificates available",
            c.issuer_text(),
            c.subject_text()
        ),
        None => "no certificate".into(),
    }
}

struct Search<'s> {
    store: &'s [Node],
    at: time::OffsetDateTime,
    steps_left: usize,
    best: Best,
    /// A namesake whose key did not sign the certificate: said when no path is found.
    namesake: Option<String>,
}

impl<'s> Search<'s> {
    fn run(store: &'s [Node], at: time::OffsetDateTime) -> Best {
        let mut search = Self {
            store,
            at,
            steps_left: MAX_STEPS,
            best: Best {
                path: vec![0],
                anchored: false,
                error: None,
            },
            namesake: None,
        };
        if !store.is_empty() {
            search.visit(&mut vec![0], None);
        }
        if search.steps_left == 0 && !search.best.anchored {
            search.best.error = Some(format!(
                "no path to a trust anchor within {MAX_STEPS} issuer candidates"
            ));
        }
        if !search.best.anchored && search.best.error.is_none() {
            search.best.error = search.namesake;
        }
        search.best
    }

    /// Extends `path`; true when a clean anchored path was found (the search stops).
    fn visit(&mut self, path: &mut Vec<usize>, error: Option<String>) -> bool {
        let Some(&last) = path.last() else {
            return false;
        };
        let anchored = self.store.get(last).is_some_and(|n| n.anchor);
        let found = Best {
            path: path.clone(),
            anchored,
            error,
        };
        let clean = anchored && found.error.is_none();
        let error = found.error.clone();
        if found.score() > self.best.score() {
            self.best = found;
        }
        if anchored || path.len() >= MAX_DEPTH {
            return clean;
        }
        for next in self.candidates(last, path) {
            if self.steps_left == 0 {
                return false;
            }
            self.steps_left -= 1;
            if let Err(e) = self.signed_by(path, next) {
                self.namesake.get_or_insert(e);
                continue;
            }
            let step_error = error.clone().or_else(|| self.check_step(path, next).err());
            path.push(next);
            let done = self.visit(path, step_error);
            path.pop();
            if done {
                return true;
            }
        }
        false
    }

    /// Possible issuers of `store[of]` not in the path yet: anchors first, then those matching
    /// by both name and key identifier, then those valid at the validation time.
    fn candidates(&self, of: usize, path: &[usize]) -> Vec<usize> {
        let Some(cert) = self.store.get(of).map(|n| &n.cert) else {
            return Vec::new();
        };
        let mut found: Vec<usize> = (0..self.store.len())
            .filter(|i| !path.contains(i))
            .filter(|i| {
                self.store
                    .get(*i)
                    .is_some_and(|n| cert.names_as_issuer(&n.cert))
            })
            .collect();
        found.sort_by_key(|i| {
            self.store.get(*i).map(|n| {
                let both = cert.issuer == n.cert.subject
                    && cert.authority_key_id.is_some()
                    && cert.authority_key_id == n.cert.subject_key_id;
                (!n.anchor, !both, !n.cert.valid_at(self.at))
            })
        });
        found.truncate(MAX_CANDIDATES);
        found
    }

    fn cert(&self, i: usize) -> Result<&Cert, String> {
        self.store
            .get(i)
            .map(|n| &n.cert)
            .ok_or_else(|| "no such certificate".to_string())
    }

    /// Whether `store[issuer]`'s key signed the last certificate of `path`.
    fn signed_by(&self, path: &[usize], issuer: usize) -> Result<(), String> {
        let subject = self.cert(*path.last().ok_or("empty path")?)?;
        let issuer = self.cert(issuer)?;
        subject.verify_issued_by(issuer).map_err(|e| {
            format!(
                "the signature of {} does not verify with the key of {} (a namesake, not its issuer): {e}",
                subject.subject_text(),
                issuer.subject_text()
            )
        })
    }

    /// Whether `store[issuer]`, whose key signed the last certificate of `path`, may issue it.
    fn check_step(&self, path: &[usize], issuer: usize) -> Result<(), String> {
        let issuer = self.cert(issuer)?;
        let name = issuer.subject_text();
        let Some((true, path_len)) = issuer.basic_constraints else {
            return Err(format!(
                "{name} is not a CA certificate (basicConstraints cA is not set)"
            ));
        };
        // Intermediate CA certificates below the issuer, self-issued ones not counted
        // (RFC 5280 §6.1.4 (l), (m)).
        let below = path
            .iter()
            .skip(1)
            .filter_map(|i| self.store.get(*i))
            .filter(|n| !n.cert.is_self_issued())
            .count();
        if let Some(max) = path_len.filter(|max| below > usize::from(*max)) {
            return Err(format!(
                "{name} allows {max} intermediate CA certificates below it, the path has {below}"
            ));
        }
        if issuer
            .key_usage
            .as_ref()
            .is_some_and(|ku| !ku.key_cert_sign())
        {
            return Err(format!(
                "{name} may not sign certificates (keyUsage without keyCertSign)"
            ));
        }
        Ok(())
    }
}
