//! SignRequest processing: checks every input and turns it into a [`Job`] (hash signing
//! through the SAM, or document signing through the service layer's
//! [`signet_service::Service::sign_documents`], which CSC signDoc uses too), then runs it.
//! Everything a client can get wrong is decided before the SAD is touched.

use signet_ades::{Content, Envelope, Format, Level, Output, SignedProps};
use signet_core::Untrusted;
use signet_core::{HashAlgorithm, SignMechanism};
use signet_dssx::alg::{self, SignatureAlgorithm};
use signet_dssx::{
    ASYNC_PROFILE, DocumentHash, DssResult, SAD_MIME_TYPE, SignRequest, SignResponse, Signed,
    XPathKind, minor,
};
use signet_sam::{SamError, SignRequest as SamSignRequest};
use signet_service::{DocumentError, DocumentItem};
use signet_store::{Credential, SadRefusal, User};
use zeroize::Zeroizing;

use super::{check_options, general, not_supported};
use crate::AppState;
use crate::auth::Caller;

/// More documents than this, or more than one at B-LT and above, is "long work": answered
/// Pending when the client listed the asynchronous processing profile.
pub const LONG_WORK_DOCUMENTS: usize = 4;

/// A checked request, ready to run (now or in the background).
pub struct Job {
    pub user: User,
    pub credential: Credential,
    pub sad: Zeroizing<String>,
    pub work: Work,
    pub request_id: Option<String>,
    pub applied_profiles: Vec<String>,
    /// The client accepts Pending and asked for it, or the work is long.
    pub run_async: bool,
}

pub enum Work {
    /// Raw signature values, one per DocumentHash.
    Hashes {
        ids: Vec<Option<String>>,
        hashes: Vec<Vec<u8>>,
        mechanism: SignMechanism,
    },
    /// AdES signatures; `ids[i]` and `mime[i]` belong to `items[i]`.
    Documents {
        ids: Vec<Option<String>>,
        mime: Vec<Option<String>>,
        items: Vec<DocumentItem>,
    },
}

/// The same answer for an unknown credential and another user's (no existence oracle).
fn key_lookup_failed() -> DssResult {
    DssResult::requester(
        minor::KEY_LOOKUP_FAILED,
        "No usable credential with this KeyName",
    )
}

/// SAM refusals as DSS-X results.
pub fn sam_result(e: SamError) -> DssResult {
    let text = signet_service::describe(&e).into_owned();
    match e {
        SamError::UnknownCredential => key_lookup_failed(),
        SamError::Sad(SadRefusal::HashNotAuthorized) => DssResult::requester(
            minor::NOT_AUTHORIZED,
            "A document (or document digest) is not covered by the authorization (SAD)",
        ),
        SamError::Sad(SadRefusal::HashAlgorithm) => {
            DssResult::requester(minor::HASH_ALGORITHM, text)
        }
        SamError::Sad(_)
        | SamError::InvalidPin
        | SamError::InvalidOtp
        | SamError::OtpReplayed
        | SamError::MissingFactor(_)
        | SamError::UserDisabled
        | SamError::CredentialDisabled
        | SamError::CredentialLocked
        | SamError::Unapproved => DssResult::requester(minor::NOT_AUTHORIZED, text),
        SamError::Request(_) | SamError::Algorithm(_) => general(text),
        SamError::KeyUnavailable | SamError::KeyFailure => {
            DssResult::responder(minor::GENERAL_ERROR, text)
        }
        SamError::Store(e) => {
            tracing::error!(error = %Untrusted(&e), "store failure");
            DssResult::responder(minor::GENERAL_ERROR, "Storage unavailable, try again")
        }
        SamError::Internal(detail) => {
            tracing::error!(detail = %Untrusted(&detail), "internal SAM error");
            DssResult::responder(minor::GENERAL_ERROR, "Internal error")
        }
    }
}

fn core_result(e: DocumentError) -> DssResult {
    use signet_ades::AdesError;
    match e {
        DocumentError::Request(text) => general(text),
        DocumentError::Sam(e) => sam_result(e),
        DocumentError::Ades(name, e) => {
            let text = format!("{name}: {e}");
            match e {
                // What the engine refuses to produce (format, envelope, property) is a
                // request for something Signet does not support.
                AdesError::InvalidRequest(_) => not_supported(text),
                AdesError::InvalidDocument(_) | AdesError::TooLarge(_) => general(text),
                AdesError::TimeStamp(_) | AdesError::ValidationData(_) => {
                    DssResult::responder(minor::GENERAL_ERROR, text)
                }
                AdesError::SignatureValue(_) | AdesError::Internal(_) => {
                    tracing::error!(error = %Untrusted(&text), "document signing failed after signing");
                    DssResult::responder(minor::GENERAL_ERROR, text)
                }
            }
        }
        DocumentError::Internal => DssResult::responder(minor::GENERAL_ERROR, "Internal error"),
    }
}

/// Checks `req` for `caller` and builds the job; `Err` is the (error) result to answer with.
pub async fn check(state: &AppState, caller: &Caller, req: SignRequest) -> Result<Job, DssResult> {
    let o = &req.options;
    check_options(&o.unsupported, o.language.as_deref())?;
    // Profiles: the asynchronous processing profile and TS 119 432 creation profiles.
    let mut accepts_async = false;
    let (mut profile_format, mut profile_level) = (None, None);
    for p in &req.profiles {
        if p == ASYNC_PROFILE {
            accepts_async = true;
            continue;
        }
        match alg::creation_profile(p) {
            Some(Ok(prof)) => {
                profile_format = prof.format.or(profile_format);
                profile_level = prof.level.or(profile_level);
            }
            Some(Err(text)) => return Err(not_supported(text)),
            None => return Err(not_supported(format!("Profile {p} is not supported"))),
        }
    }
    let credential_id = match o.key_names.as_slice() {
        [name] if !name.is_empty() => name.clone(),
        [] | [_] => {
            return Err(DssResult::requester(
                minor::KEY_INFO_NOT_PROVIDED,
                "KeySelector/KeyName with the credential ID is required",
            ));
        }
        _ => return Err(not_supported("More than one KeySelector")),
    };
    let mut sad = None;
    for other in &o.other {
        if other.mime_type.as_deref() != Some(SAD_MIME_TYPE) {
            return Err(not_supported(format!(
                "Other with MimeType {:?} is not supported",
                other.mime_type.as_deref().unwrap_or("")
            )));
        }
        if sad.is_some() {
            return Err(general("More than one SAD"));
        }
        let text = String::from_utf8(other.value.clone())
            .map_err(|_| general("The SAD (Other) is not UTF-8 text"))?;
        sad = Some(Zeroizing::new(text.trim().to_owned()));
    }
    let method = if req.hashes.is_empty() {
        "signatures/signDoc"
    } else {
        "signatures/signHash"
    };
    let user = caller
        .user_for(method, Some(&credential_id))
        .map_err(|e| DssResult::requester(minor::NOT_AUTHORIZED, e.description))?
        .clone();
    let sad = match crate::auth::presented_sad(
        sad.as_deref().map(|s| s.as_str()),
        caller.credential_token(),
    ) {
        Some(sad) => sad,
        None => {
            return Err(DssResult::requester(
                minor::NOT_AUTHORIZED,
                format!(
                    "Missing SAD: send the SAD from credentials/authorize as OptionalInputs/Other with MimeType {SAD_MIME_TYPE}, or a credential-scoped access token"
                ),
            ));
        }
    };
    let credential = state
        .sam
        .signing_credential(&user, &credential_id)
        .await
        .map_err(sam_result)?;
    let sig_alg =
        match &o.signature_algorithm {
            None => None,
            Some(uri) => Some(alg::signature_algorithm(uri).ok_or_else(|| {
                not_supported(format!("SignatureAlgorithm {uri} is not supported"))
            })?),
        };
    let signature_type = match &o.signature_type {
        None => None,
        Some(uri) => Some(
            alg::signature_type(uri)
                .ok_or_else(|| not_supported(format!("SignatureType {uri} is not supported")))?,
        ),
    };
    if let (Some(a), Some(b)) = (signature_type, profile_format)
        && a != b
    {
        return Err(general(format!(
            "SignatureType selects {} but the creation profile {}",
            a.name(),
            b.name()
        )));
    }
    let format = signature_type.or(profile_format);
    let (work, count, level) = match (req.documents.is_empty(), req.hashes.is_empty()) {
        (true, true) => {
            return Err(general(
                "InputDocuments with a Document or DocumentHash is required",
            ));
        }
        (false, false) => {
            return Err(general(
                "InputDocuments must hold either Document or DocumentHash elements, not both",
            ));
        }
        (true, false) if format.is_none() => {
            let n = req.hashes.len();
            (
                hash_work(&credential, sig_alg, &req, profile_level)?,
                n,
                Level::BB,
            )
        }
        _ => {
            let (work, level) = document_work(&credential, sig_alg, &req, format, profile_level)?;
            (work, req.documents.len() + req.hashes.len(), level)
        }
    };
    let long = count > LONG_WORK_DOCUMENTS || (level >= Level::BLt && count > 1);
    Ok(Job {
        user,
        credential,
        sad,
        work,
        request_id: req.request_id.clone(),
        applied_profiles: req
            .profiles
            .iter()
            .map(|p| alg::canonical_profile(p))
            .collect(),
        run_async: req.options.enforce_async || (accepts_async && long),
    })
}

/// Options that only mean something when an AdES signature is made.
fn refuse_document_options(req: &SignRequest, level: Option<Level>) -> Result<(), DssResult> {
    let o = &req.options;
    let mut names = Vec::new();
    if !o.add_timestamp.is_empty() {
        names.push("AddTimestamp");
    }
    if o.include_econtent.is_some() {
        names.push("IncludeEContent");
    }
    if o.signature_placement.is_some() {
        names.push("SignaturePlacement");
    }
    if !o.include_object.is_empty() {
        names.push("IncludeObject");
    }
    if !o.signed_properties.is_empty() {
        names.push("Properties");
    }
    if level.is_some() {
        names.push("a creation profile level");
    }
    if names.is_empty() {
        Ok(())
    } else {
        Err(not_supported(format!(
            "{} only apply to AdES signatures: give a SignatureType to have a DocumentHash signed as an AdES signature",
            names.join(", ")
        )))
    }
}

/// The DigestInfo of `h` made with `hash`, exactly one.
fn pick_digest(h: &DocumentHash, hash: HashAlgorithm, at: &str) -> Result<Vec<u8>, DssResult> {
    let mut found = h
        .digests
        .iter()
        .filter(|d| alg::digest_method(&d.method) == Some(hash));
    let Some(d) = found.next() else {
        let given: Vec<&str> = h.digests.iter().map(|d| d.method.as_str()).collect();
        return Err(DssResult::requester(
            minor::HASH_ALGORITHM,
            format!(
                "{at}: no DigestInfos made with {} (the signature algorithm's hash); given: {}",
                hash.name(),
                given.join(", ")
            ),
        ));
    };
    if found.next().is_some() {
        return Err(general(format!(
            "{at}: more than one DigestInfos with {}",
            hash.name()
        )));
    }
    if d.value.len() != hash.len() {
        return Err(general(format!(
            "{at}: a {} digest has {} bytes, not {}",
            hash.name(),
            hash.len(),
            d.value.len()
        )));
    }
    Ok(d.value.clone())
}

fn hash_name(h: &DocumentHash, i: usize) -> String {
    match &h.id {
        Some(id) => format!("DocumentHash {id}"),
        None => format!("DocumentHash[{i}]"),
    }
}

/// The mechanism of a request: the SignatureAlgorithm (its hash, or `digest_hash` when it
/// names none), else the key's usual mechanism with `digest_hash`.
fn mechanism(
    cred: &Credential,
    sig_alg: Option<SignatureAlgorithm>,
    digest_hash: Option<HashAlgorithm>,
) -> Result<SignMechanism, DssResult> {
    let sig_alg = match sig_alg {
        Some(a) => a,
        None => {
            let default = SignMechanism::default_for(cred.key_type);
            let hash = digest_hash.unwrap_or(default.hash());
            let m = match default {
                SignMechanism::Ecdsa { .. } => SignMechanism::Ecdsa { hash },
                _ => SignMechanism::RsaPkcs1 { hash },
            };
            return Ok(m);
        }
    };
    let hash = sig_alg
        .hash
        .or(digest_hash)
        .unwrap_or(cred.key_type.default_hash());
    let params = sig_alg.pss.then(|| signet_core::alg::pss_params_der(hash));
    let m = SignMechanism::resolve(
        cred.key_type,
        sig_alg.oid,
        Some(hash.oid()),
        params.as_deref(),
    )
    .map_err(|e| not_supported(format!("SignatureAlgorithm: {e}")))?;
    Ok(m)
}

fn hash_work(
    cred: &Credential,
    sig_alg: Option<SignatureAlgorithm>,
    req: &SignRequest,
    profile_level: Option<Level>,
) -> Result<Work, DssResult> {
    refuse_document_options(req, profile_level)?;
    // With no hash in the SignatureAlgorithm, the first DigestInfos' algorithm decides.
    let first_hash = req
        .hashes
        .first()
        .and_then(|h| h.digests.first())
        .and_then(|d| alg::digest_method(&d.method));
    let needs_digest_hash = sig_alg.is_none_or(|a| a.hash.is_none());
    if needs_digest_hash && first_hash.is_none() {
        let method = req
            .hashes
            .first()
            .and_then(|h| h.digests.first())
            .map_or("", |d| d.method.as_str());
        return Err(DssResult::requester(
            minor::HASH_ALGORITHM,
            format!("DigestMethod {method} is not supported: use SHA-256, SHA-384 or SHA-512"),
        ));
    }
    let m = mechanism(cred, sig_alg, first_hash)?;
    let hash = m.hash();
    let mut hashes = Vec::new();
    for (i, h) in req.hashes.iter().enumerate() {
        hashes.push(pick_digest(h, hash, &hash_name(h, i))?);
    }
    Ok(Work::Hashes {
        ids: req.hashes.iter().map(|h| h.id.clone()).collect(),
        hashes,
        mechanism: m,
    })
}

/// The envelope the DSS-X options select for `format`.
fn envelope(req: &SignRequest, format: Format, digest_only: bool) -> Result<Envelope, DssResult> {
    let o = &req.options;
    let single_id = match req.documents.as_slice() {
        [d] => d.id.as_deref(),
        _ => None,
    };
    let refers = |which: &Option<String>, what: &str| -> Result<(), DssResult> {
        match which {
            Some(w) if Some(w.as_str()) != single_id => Err(not_supported(format!(
                "{what} WhichData {w:?}: only the ID of the one Document of the request"
            ))),
            _ => Ok(()),
        }
    };
    let misplaced = |what: &str| {
        Err(not_supported(format!(
            "{what} does not apply to {} signatures",
            format.name()
        )))
    };
    match format {
        Format::Cades | Format::Jades => {
            if o.signature_placement.is_some() {
                return misplaced("SignaturePlacement");
            }
            if !o.include_object.is_empty() {
                return misplaced("IncludeObject");
            }
            // DSS-X: IncludeEContent defaults to false, i.e. a detached signature.
            Ok(match o.include_econtent {
                Some(true) if !digest_only => Envelope::Attached,
                Some(true) => {
                    return Err(general(
                        "IncludeEContent needs the Document itself, not a DocumentHash",
                    ));
                }
                _ => Envelope::Detached,
            })
        }
        Format::Pades => {
            if o.include_econtent.is_some() {
                return misplaced("IncludeEContent");
            }
            if o.signature_placement.is_some() {
                return misplaced("SignaturePlacement");
            }
            if !o.include_object.is_empty() {
                return misplaced("IncludeObject");
            }
            Ok(Envelope::Certification)
        }
        Format::Xades => {
            if o.include_econtent.is_some() {
                return misplaced("IncludeEContent");
            }
            match (&o.signature_placement, o.include_object.as_slice()) {
                (Some(_), [_, ..]) => Err(general(
                    "SignaturePlacement (enveloped) and IncludeObject (enveloping) exclude each other",
                )),
                (Some(p), []) => {
                    if !p.create_enveloped {
                        return Err(not_supported(
                            "SignaturePlacement without CreateEnvelopedSignature",
                        ));
                    }
                    refers(&p.which_data, "SignaturePlacement")?;
                    match &p.xpath {
                        None => {}
                        Some((XPathKind::FirstChildOf | XPathKind::After, x))
                            if x == "/" || x == "/*" => {}
                        Some((_, x)) => {
                            return Err(not_supported(format!(
                                "SignaturePlacement XPath {x:?}: the enveloped signature goes into the document element (\"/*\")"
                            )));
                        }
                    }
                    Ok(Envelope::Enveloped)
                }
                (None, [inc]) => {
                    refers(&inc.which_data, "IncludeObject")?;
                    if inc.has_object_tags || !inc.create_reference {
                        return Err(not_supported(
                            "IncludeObject with HasObjectTagsAndAttributesSet or without createReference",
                        ));
                    }
                    Ok(Envelope::Enveloping)
                }
                (None, [_, _, ..]) => Err(not_supported("More than one IncludeObject")),
                (None, []) => Ok(Envelope::Detached),
            }
        }
    }
}

/// The format of a document without SignatureType or profile: from its MIME type.
fn format_for_mime(mime: Option<&str>) -> Format {
    match mime.map(|m| {
        m.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }) {
        Some(m) if m == "application/pdf" => Format::Pades,
        Some(m) if m == "application/xml" || m == "text/xml" || m.ends_with("+xml") => {
            Format::Xades
        }
        Some(m) if m == "application/json" || m.ends_with("+json") => Format::Jades,
        _ => Format::Cades,
    }
}

fn document_work(
    cred: &Credential,
    sig_alg: Option<SignatureAlgorithm>,
    req: &SignRequest,
    format: Option<Format>,
    profile_level: Option<Level>,
) -> Result<(Work, Level), DssResult> {
    let o = &req.options;
    let digest_only = req.documents.is_empty();
    let format = format.unwrap_or_else(|| {
        format_for_mime(req.documents.first().and_then(|d| d.mime_type.as_deref()))
    });
    let mut level = profile_level.unwrap_or(Level::BB);
    for t in &o.add_timestamp {
        if !alg::timestamp_type(t) {
            return Err(not_supported(format!(
                "AddTimestamp {t}: only RFC 3161 signature time-stamps (urn:ietf:rfc:3161)"
            )));
        }
        level = level.max(Level::BT);
    }
    let envelope = envelope(req, format, digest_only)?;
    let mut pairs = Vec::new();
    for (id, value) in &o.signed_properties {
        let value = match value {
            None => None,
            Some(v) => Some(
                String::from_utf8(v.clone())
                    .map_err(|_| general(format!("Property {id}: the value must be UTF-8 text")))?,
            ),
        };
        pairs.push((id.clone(), value));
    }
    let props = SignedProps::from_csc(format, &pairs)
        .map_err(|e| not_supported(format!("Properties/SignedProperties: {e}")))?;
    let first_hash = req
        .hashes
        .first()
        .and_then(|h| h.digests.first())
        .and_then(|d| alg::digest_method(&d.method));
    let m = mechanism(cred, sig_alg, if digest_only { first_hash } else { None })?;
    // The SAD binds the documents' digests made with the signature algorithm's hash.
    let document_hash = m.hash();
    let mut items = Vec::new();
    let mut ids = Vec::new();
    let mut mime = Vec::new();
    for (i, d) in req.documents.iter().enumerate() {
        items.push(DocumentItem {
            name: match &d.id {
                Some(id) => format!("Document {id}"),
                None => format!("Document[{i}]"),
            },
            format,
            level,
            envelope,
            mechanism: m,
            props: props.clone(),
            content: Content::Document(d.data.clone()),
            document_hash,
        });
        ids.push(d.id.clone());
        mime.push(d.mime_type.clone());
    }
    for (i, h) in req.hashes.iter().enumerate() {
        let name = hash_name(h, i);
        let digest = pick_digest(h, document_hash, &name)?;
        items.push(DocumentItem {
            name,
            format,
            level,
            envelope,
            mechanism: m,
            props: props.clone(),
            content: Content::Digest(digest),
            document_hash,
        });
        ids.push(h.id.clone());
        mime.push(None);
    }
    Ok((Work::Documents { ids, mime, items }, level))
}

/// MIME type of a detached signature.
fn signature_mime(format: Format) -> &'static str {
    match format {
        Format::Cades | Format::Pades => "application/pkcs7-signature",
        Format::Xades => "application/xml",
        Format::Jades => "application/jose",
    }
}

/// Runs a checked job: the SAD is spent here.
pub async fn run(state: &AppState, job: Job, response_id: String) -> SignResponse {
    let mut resp = SignResponse::new(DssResult::success(), job.request_id.clone());
    resp.response_id = Some(response_id);
    resp.applied_profiles = job.applied_profiles.clone();
    // The job may have waited (asynchronous processing): sign with the credential as it is
    // now, so that one disabled, locked or deleted meanwhile signs nothing.
    let credential = match state
        .sam
        .signing_credential(&job.user, &job.credential.id)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            resp.result = sam_result(e);
            return resp;
        }
    };
    match job.work {
        Work::Hashes {
            ids,
            hashes,
            mechanism,
        } => {
            let request = SamSignRequest {
                sad: job.sad,
                hashes,
                mechanism,
            };
            match state.sam.sign_hashes(&job.user, &credential, request).await {
                Ok(values) => {
                    resp.signature_objects = ids
                        .into_iter()
                        .zip(values)
                        .map(|(which_doc, data)| Signed {
                            which_doc,
                            mime_type: None,
                            data,
                        })
                        .collect();
                }
                Err(e) => resp.result = sam_result(e),
            }
        }
        Work::Documents { ids, mime, items } => {
            let formats: Vec<Format> = items.iter().map(|i| i.format).collect();
            match state
                .service
                .sign_documents(&job.user, &credential, &job.sad, items, false)
                .await
            {
                Ok(finished) => {
                    for (((f, which_doc), mime), format) in
                        finished.into_iter().zip(ids).zip(mime).zip(formats)
                    {
                        match f.output {
                            Output::DocumentWithSignature(data) => {
                                resp.documents_with_signature.push(Signed {
                                    which_doc,
                                    mime_type: mime,
                                    data,
                                })
                            }
                            Output::SignatureObject(data) => resp.signature_objects.push(Signed {
                                which_doc,
                                mime_type: Some(signature_mime(format).to_owned()),
                                data,
                            }),
                        }
                    }
                }
                Err(e) => resp.result = core_result(e),
            }
        }
    }
    if resp.result.major != signet_dssx::major::SUCCESS {
        resp.documents_with_signature.clear();
        resp.signature_objects.clear();
    }
    resp
}
