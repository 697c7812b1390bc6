//! The DSS-X 2.0 JSON syntax (`oasis-dss-core-schema.json`): the short member names (`reqID`,
//! `inDocs`, `optInp`, `b64Data`, `sigObj`, ...). Bodies are the bare objects of the OpenAPI
//! binding; the wrapped form of the schema's root (`{"signReq": {...}}`) is accepted too.
//! VerifyRequest / VerifyResponse are in [`verify`].

use serde_json::{Map, Value, json};

use crate::{
    DigestInfo, Document, DocumentHash, DssResult, IncludeObject, Kind, Limits, Message,
    OptionalInputs, Other, ParseError, PendingRequest, SignRequest, SignResponse,
    SignaturePlacement, Signed, XPathKind, decode_b64, encode_b64,
};

mod verify;
pub use verify::write_verify;

type Obj = Map<String, Value>;

/// Parses a request body expected to be `kind`.
pub fn parse(body: &[u8], kind: Kind, limits: &Limits) -> Result<Message, ParseError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError::NotDss(format!("Malformed JSON body: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err(ParseError::NotDss("The body must be a JSON object".into()));
    };
    let wrapper = match kind {
        Kind::Sign => "signReq",
        Kind::Pending => "pendingReq",
        Kind::Verify => "verifyReq",
    };
    if obj.len() == 1 {
        if let Some(Value::Object(inner)) = obj.remove(wrapper) {
            obj = inner;
        } else if obj.contains_key("signReq")
            || obj.contains_key("pendingReq")
            || obj.contains_key("verifyReq")
        {
            return Err(ParseError::NotDss(format!(
                "This endpoint takes a {wrapper} object"
            )));
        }
    }
    let request_id = match obj.get("reqID") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ParseError::general("reqID must be a string")),
    };
    let parsed = match kind {
        Kind::Sign => parse_sign(&obj, limits).map(|r| Message::Sign(Box::new(r))),
        Kind::Pending => parse_pending(&obj).map(Message::Pending),
        Kind::Verify => verify::parse(&obj, limits).map(|r| Message::Verify(Box::new(r))),
    };
    parsed.map_err(|e| e.with_request_id(request_id.as_deref()))
}

fn bad(at: &str, what: &str) -> ParseError {
    ParseError::general(format!("{at} must be {what}"))
}

fn obj<'a>(v: &'a Value, at: &str) -> Result<&'a Obj, ParseError> {
    v.as_object().ok_or_else(|| bad(at, "an object"))
}

fn arr<'a>(v: &'a Value, at: &str) -> Result<&'a Vec<Value>, ParseError> {
    v.as_array().ok_or_else(|| bad(at, "an array"))
}

fn string(v: &Value, at: &str) -> Result<String, ParseError> {
    v.as_str()
        .map(|s| s.trim().to_owned())
        .ok_or_else(|| bad(at, "a string"))
}

fn opt_string(o: &Obj, key: &str, at: &str) -> Result<Option<String>, ParseError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => string(v, &format!("{at}.{key}")).map(Some),
    }
}

fn boolean(v: &Value, at: &str) -> Result<bool, ParseError> {
    match v {
        Value::Bool(b) => Ok(*b),
        // The schema's defaults are written as strings ("false"); accept that spelling.
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        _ => Err(bad(at, "a boolean")),
    }
}

fn strings(v: &Value, at: &str) -> Result<Vec<String>, ParseError> {
    arr(v, at)?
        .iter()
        .map(|s| string(s, at))
        .collect::<Result<Vec<_>, _>>()
}

fn parse_pending(o: &Obj) -> Result<PendingRequest, ParseError> {
    let mut req = PendingRequest {
        request_id: opt_string(o, "reqID", "pendingReq")?,
        ..Default::default()
    };
    for (k, v) in o {
        match k.as_str() {
            "reqID" => {}
            "profile" => req.profiles = strings(v, "profile")?,
            "claimedIdentity" => req.unsupported.push("ClaimedIdentity".into()),
            other => return Err(ParseError::general(format!("Unknown member {other}"))),
        }
    }
    Ok(req)
}

fn parse_sign(o: &Obj, limits: &Limits) -> Result<SignRequest, ParseError> {
    let mut req = SignRequest {
        request_id: opt_string(o, "reqID", "signReq")?,
        ..Default::default()
    };
    // Optional inputs first: input documents add their own unsupported entries.
    if let Some(v) = o.get("optInp").filter(|v| !v.is_null()) {
        req.options = parse_options(obj(v, "optInp")?, limits)?;
    }
    for (k, v) in o {
        match k.as_str() {
            "reqID" | "optInp" => {}
            "profile" => req.profiles = strings(v, "profile")?,
            "inDocs" => parse_inputs(obj(v, "inDocs")?, &mut req, limits)?,
            other => return Err(ParseError::general(format!("Unknown member {other}"))),
        }
    }
    Ok(req)
}

/// A `dsb:Base64DataType` / `dsb:AnyType` object: `val` and `mimeType`.
fn base64_data(
    v: &Value,
    limit: usize,
    what: &str,
    unsupported: &mut Vec<String>,
) -> Result<(Option<String>, Option<Vec<u8>>), ParseError> {
    let o = obj(v, what)?;
    let mut value = None;
    for (k, field) in o {
        match k.as_str() {
            "val" => value = Some(decode_b64(&string(field, what)?, limit, what)?),
            "mimeType" | "ID" => {}
            "attRef" => unsupported.push(format!("{what}/AttRef")),
            "transforms" => unsupported.push(format!("{what}/Transforms")),
            other => unsupported.push(format!("{what}/{other}")),
        }
    }
    Ok((opt_string(o, "mimeType", what)?, value))
}

/// The number of items in the array `o[key]` (none when it is not an array).
fn count(o: &Obj, key: &str) -> usize {
    o.get(key).and_then(Value::as_array).map_or(0, Vec::len)
}

/// An `inDocs.doc` item: the object (for the members the caller reads), and the MIME type and
/// decoded bytes of its `b64Data`.
fn document<'a>(
    v: &'a Value,
    limits: &Limits,
    unsupported: &mut Vec<String>,
) -> Result<(&'a Obj, Option<String>, Vec<u8>), ParseError> {
    let d = obj(v, "inDocs.doc[]")?;
    let data = d
        .get("b64Data")
        .ok_or_else(|| ParseError::general("doc without b64Data"))?;
    let (mime_type, data) = base64_data(data, limits.max_document_bytes, "Document", unsupported)?;
    Ok((d, mime_type, data.unwrap_or_default()))
}

fn parse_inputs(o: &Obj, req: &mut SignRequest, limits: &Limits) -> Result<(), ParseError> {
    limits.check_count(count(o, "doc") + count(o, "docHash"), "input documents")?;
    for (k, v) in o {
        match k.as_str() {
            "doc" => {
                for d in arr(v, "inDocs.doc")? {
                    let (d, mime_type, data) = document(d, limits, &mut req.options.unsupported)?;
                    req.documents.push(Document {
                        id: opt_string(d, "ID", "doc")?,
                        mime_type,
                        data,
                    });
                }
            }
            "docHash" => {
                for h in arr(v, "inDocs.docHash")? {
                    let h = obj(h, "inDocs.docHash[]")?;
                    if h.contains_key("transforms") {
                        req.options
                            .unsupported
                            .push("DocumentHash/Transforms".into());
                    }
                    let mut digests = Vec::new();
                    for di in arr(h.get("dis").unwrap_or(&Value::Null), "docHash.dis")? {
                        let di = obj(di, "docHash.dis[]")?;
                        let method = opt_string(di, "alg", "dis")?;
                        let value = opt_string(di, "val", "dis")?;
                        let (Some(method), Some(value)) = (method, value) else {
                            return Err(ParseError::general("dis entries need alg and val"));
                        };
                        digests.push(DigestInfo {
                            method,
                            value: decode_b64(&value, limits.max_small_bytes, "DigestValue")?,
                        });
                    }
                    if digests.is_empty() {
                        return Err(ParseError::general("docHash without dis"));
                    }
                    req.hashes.push(DocumentHash {
                        id: opt_string(h, "ID", "docHash")?,
                        digests,
                    });
                }
            }
            "transformed" => req.options.unsupported.push("TransformedData".into()),
            other => {
                return Err(ParseError::general(format!(
                    "Unknown member inDocs.{other}"
                )));
            }
        }
    }
    Ok(())
}

fn parse_options(o: &Obj, limits: &Limits) -> Result<OptionalInputs, ParseError> {
    let mut out = OptionalInputs::default();
    for (k, v) in o {
        if v.is_null() {
            continue;
        }
        match k.as_str() {
            "lang" => out.language = Some(string(v, "lang")?),
            "other" => {
                for item in arr(v, "other")? {
                    let (mime_type, value) =
                        base64_data(item, limits.max_small_bytes, "Other", &mut out.unsupported)?;
                    out.other.push(Other {
                        mime_type,
                        value: value.unwrap_or_default(),
                    });
                }
            }
            "addTimestamp" => out.add_timestamp = strings(v, "addTimestamp")?,
            "enforceAsync" => out.enforce_async = boolean(v, "enforceAsync")?,
            "sigType" => out.signature_type = Some(string(v, "sigType")?),
            "keySel" => {
                for sel in arr(v, "keySel")? {
                    for (kind, value) in obj(sel, "keySel[]")? {
                        match kind.as_str() {
                            "name" => out.key_names.push(string(value, "keySel.name")?),
                            other => out.unsupported.push(format!("KeySelector/{other}")),
                        }
                    }
                }
            }
            "props" => {
                for (holder, props) in obj(v, "props")? {
                    if holder != "signedProps" {
                        out.unsupported.push(format!("Properties/{holder}"));
                        continue;
                    }
                    let props = obj(props, "props.signedProps")?;
                    for p in arr(
                        props.get("prop").unwrap_or(&Value::Null),
                        "signedProps.prop",
                    )? {
                        let p = obj(p, "signedProps.prop[]")?;
                        let id = opt_string(p, "id", "prop")?
                            .ok_or_else(|| ParseError::general("prop without id"))?;
                        let value = match p.get("val") {
                            None | Some(Value::Null) => None,
                            Some(val) => {
                                base64_data(
                                    val,
                                    limits.max_small_bytes,
                                    "Property/Value",
                                    &mut out.unsupported,
                                )?
                                .1
                            }
                        };
                        out.signed_properties.push((id, value));
                    }
                }
            }
            "incObj" => {
                for item in arr(v, "incObj")? {
                    let item = obj(item, "incObj[]")?;
                    out.include_object.push(IncludeObject {
                        which_data: opt_string(item, "whichData", "incObj")?,
                        has_object_tags: match item.get("hasObjectTagsAndAttributesSet") {
                            Some(b) => boolean(b, "incObj.hasObjectTagsAndAttributesSet")?,
                            None => false,
                        },
                        obj_id: opt_string(item, "objId", "incObj")?,
                        create_reference: match item.get("createRef") {
                            Some(b) => boolean(b, "incObj.createRef")?,
                            None => true,
                        },
                    });
                }
            }
            "incContent" => out.include_econtent = Some(boolean(v, "incContent")?),
            "sigPlacement" => {
                let p = obj(v, "sigPlacement")?;
                let xpath = match (
                    opt_string(p, "xPathAfter", "sigPlacement")?,
                    opt_string(p, "xPathFirstChildOf", "sigPlacement")?,
                ) {
                    (Some(x), _) => Some((XPathKind::After, x)),
                    (None, Some(x)) => Some((XPathKind::FirstChildOf, x)),
                    (None, None) => None,
                };
                if p.contains_key("nsDecl") {
                    out.unsupported
                        .push("SignaturePlacement/NsPrefixMapping".into());
                }
                out.signature_placement = Some(SignaturePlacement {
                    which_data: opt_string(p, "whichData", "sigPlacement")?,
                    create_enveloped: match p.get("createEnvelopedSignature") {
                        Some(b) => boolean(b, "sigPlacement.createEnvelopedSignature")?,
                        None => true,
                    },
                    xpath,
                });
            }
            "sigAlgo" => out.signature_algorithm = Some(string(v, "sigAlgo")?),
            "policy" => out.unsupported.push("ServicePolicy".into()),
            "claimedIdentity" => out.unsupported.push("ClaimedIdentity".into()),
            "schemas" => out.unsupported.push("Schemas".into()),
            "nonce" => out.unsupported.push("Nonce".into()),
            "aud" => out.unsupported.push("IntendedAudience".into()),
            "signedRefs" => out.unsupported.push("SignedReferences".into()),
            "quality" => out.unsupported.push("SignatureQualityLevel".into()),
            other => out.unsupported.push(other.to_owned()),
        }
    }
    Ok(out)
}

/// A `dsb-Base64DataType` / `dsb-AnyType` object: `val` and `mimeType`.
fn b64_data(mime_type: Option<&str>, data: &[u8]) -> Value {
    let mut o = Obj::new();
    o.insert("val".into(), Value::String(encode_b64(data)));
    if let Some(m) = mime_type {
        o.insert("mimeType".into(), Value::String(m.to_owned()));
    }
    Value::Object(o)
}

/// `[{"b64Sig": ..., "whichDoc": ...}]`: `dss2-SignatureObjectType` items.
fn signature_objects(items: &[Signed]) -> Value {
    signed_items(
        items,
        |s| b64_data(s.mime_type.as_deref(), &s.data),
        "b64Sig",
    )
}

/// `[{"doc": {"b64Data": ...}, "whichDoc": ...}]`: `dss2-DocumentWithSignatureType` items.
fn documents_with_signature(items: &[Signed]) -> Value {
    signed_items(
        items,
        |d| json!({ "b64Data": b64_data(d.mime_type.as_deref(), &d.data) }),
        "doc",
    )
}

fn signed_items(items: &[Signed], data: impl Fn(&Signed) -> Value, key: &str) -> Value {
    items
        .iter()
        .map(|s| {
            let mut item = Obj::new();
            item.insert(key.into(), data(s));
            if let Some(w) = &s.which_doc {
                item.insert("whichDoc".into(), json!(w));
            }
            Value::Object(item)
        })
        .collect()
}

/// The members of every `dsb-ResponseBaseType`: result, profile, reqID, respID.
fn response_base(
    result: &DssResult,
    profiles: &[String],
    request_id: Option<&str>,
    response_id: Option<&str>,
) -> Obj {
    let mut r = Obj::new();
    r.insert("maj".into(), json!(result.major));
    if let Some(m) = result.minor {
        r.insert("min".into(), json!(m));
    }
    if let Some(msg) = &result.message {
        r.insert("msg".into(), json!({ "value": msg, "lang": "en" }));
    }
    let mut o = Obj::new();
    o.insert("result".into(), Value::Object(r));
    if !profiles.is_empty() {
        o.insert("profile".into(), json!(profiles));
    }
    if let Some(id) = request_id {
        o.insert("reqID".into(), json!(id));
    }
    if let Some(id) = response_id {
        o.insert("respID".into(), json!(id));
    }
    o
}

/// A bare `dss2-SignResponseType` object (the OpenAPI `/sign` response).
pub fn write(resp: &SignResponse) -> Vec<u8> {
    let mut o = response_base(
        &resp.result,
        &resp.applied_profiles,
        resp.request_id.as_deref(),
        resp.response_id.as_deref(),
    );
    if !resp.documents_with_signature.is_empty() {
        let docs = documents_with_signature(&resp.documents_with_signature);
        o.insert("optOutp".into(), json!({ "docWithSignature": docs }));
    }
    if !resp.signature_objects.is_empty() {
        o.insert("sigObj".into(), signature_objects(&resp.signature_objects));
    }
    serde_json::to_vec(&Value::Object(o)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DssResult, minor};

    #[test]
    fn parses_short_names() {
        let body = json!({"signReq": {
            "reqID": "r1",
            "profile": ["http://uri.etsi.org/19432/v1.1.1/creationprofile#"],
            "inDocs": {"docHash": [{"ID": "h", "dis": [{"alg": "http://www.w3.org/2001/04/xmlenc#sha256", "val": "AAEC"}]}]},
            "optInp": {"keySel": [{"name": "c1"}], "other": [{"mimeType": "application/vnd.etsi.ts119432.sad", "val": "c2Fk"}], "incContent": true, "nonce": 3}
        }});
        let Message::Sign(r) =
            parse(body.to_string().as_bytes(), Kind::Sign, &Limits::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.request_id.as_deref(), Some("r1"));
        assert_eq!(r.hashes[0].digests[0].value, vec![0, 1, 2]);
        assert_eq!(r.options.key_names, vec!["c1".to_string()]);
        assert_eq!(r.options.include_econtent, Some(true));
        assert_eq!(r.options.unsupported, vec!["Nonce".to_string()]);
        assert!(matches!(
            parse(b"[1]", Kind::Sign, &Limits::default()),
            Err(ParseError::NotDss(_))
        ));
        assert!(matches!(
            parse(br#"{"pendingReq":{}}"#, Kind::Sign, &Limits::default()),
            Err(ParseError::NotDss(_))
        ));
    }

    #[test]
    fn writes_short_names() {
        let mut resp = SignResponse::new(
            DssResult::requester(minor::NOT_SUPPORTED, "no"),
            Some("r".into()),
        );
        resp.signature_objects.push(Signed {
            which_doc: None,
            mime_type: None,
            data: vec![0xff],
        });
        let v: Value = serde_json::from_slice(&write(&resp)).unwrap();
        assert_eq!(
            v,
            json!({"result": {"maj": "urn:oasis:names:tc:dss:1.0:resultmajor:RequesterError", "min": minor::NOT_SUPPORTED, "msg": {"value": "no", "lang": "en"}}, "reqID": "r", "sigObj": [{"b64Sig": {"val": "/w=="}}]})
        );
    }
}
