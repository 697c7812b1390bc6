//! Where trust comes from: anchors given as PEM/DER files, and EU trusted lists (ETSI TS
//! 119 612) whose signatures are checked.

pub mod anchors;
pub mod tl;

pub use anchors::{Anchor, TrustAnchors};

use crate::{Limits, TrustListInfo, ValidationError};

/// The largest trusted list read (the EU list of lists is about 300 KB, the largest national
/// lists a few MB).
pub const MAX_TRUSTED_LIST_BYTES: usize = 32 << 20;

/// Most national lists followed from lists of lists.
const MAX_LISTS: usize = 64;

/// A trusted list's bytes: fetched when `source` is an `http(s)` URL, else read from the file.
fn read_source(
    source: &str,
    fetch: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        fetch(source)
    } else {
        std::fs::read(source).map_err(|e| e.to_string())
    }
}

/// Reads trusted lists (each source a file path or an `http(s)` URL, fetched with `fetch`: a
/// national list or a list of lists), checks each one's signature and adds the granted CA/QC
/// and TSA services to `anchors`.
///
/// A list of lists (one with pointers to other lists) is followed: each national list it
/// points to is taken from `sources` when given there (matched by territory), else fetched
/// with `fetch` from its `TSLLocation`; it must be signed by a certificate the list of lists
/// names for it; one that cannot be fetched is skipped with a note (offline, only the lists
/// given are used). A national list given alone is used on its own signature. Returns the
/// lists whose anchors were used, for the report, and the notes.
pub fn load_trusted_lists(
    sources: &[String],
    fetch: &dyn Fn(&str) -> Result<Vec<u8>, String>,
    limits: &Limits,
    anchors: &mut TrustAnchors,
) -> Result<(Vec<TrustListInfo>, Vec<String>), ValidationError> {
    let bad = |source: &str, e: String| {
        ValidationError::Configuration(format!("trusted list {source}: {e}"))
    };
    let mut lists = Vec::new();
    for source in sources {
        let bytes = read_source(source, fetch).map_err(|e| bad(source, e))?;
        if bytes.len() > MAX_TRUSTED_LIST_BYTES {
            return Err(bad(source, "too large".into()));
        }
        lists.push(tl::read_trusted_list(&bytes, source, limits).map_err(|e| bad(source, e))?);
    }
    let (lotls, nationals): (Vec<_>, Vec<_>) =
        lists.into_iter().partition(|l| !l.pointers.is_empty());
    let mut used = Vec::new();
    let mut notes = Vec::new();
    let mut given: Vec<Option<tl::TrustedList>> = nationals.into_iter().map(Some).collect();
    for lotl in &lotls {
        used.push(lotl.info.clone());
        for pointer in lotl.pointers.iter().take(MAX_LISTS) {
            if pointer
                .mime_type
                .as_deref()
                .is_some_and(|m| m.contains("pdf"))
            {
                continue;
            }
            let slot = given.iter_mut().find(|g| {
                g.as_ref()
                    .is_some_and(|l| l.info.territory == pointer.territory)
            });
            let list = match slot.and_then(Option::take) {
                Some(list) => list,
                None => match fetch(&pointer.location) {
                    Ok(bytes) => tl::read_trusted_list(&bytes, &pointer.location, limits)
                        .map_err(|e| bad(&pointer.location, e))?,
                    Err(e) => {
                        notes.push(format!(
                            "trusted list of {} ({}) not used: {e}",
                            pointer.territory, pointer.location
                        ));
                        continue;
                    }
                },
            };
            if !tl::signed_by_one_of(&list, &pointer.certificates) {
                return Err(bad(
                    &list.info.source,
                    format!(
                        "not signed by a certificate the list of lists {} names for {}",
                        lotl.info.source, pointer.territory
                    ),
                ));
            }
            tl::anchors_from(&list, anchors);
            used.push(list.info);
        }
    }
    for list in given.into_iter().flatten() {
        tl::anchors_from(&list, anchors);
        used.push(list.info);
    }
    Ok((used, notes))
}
