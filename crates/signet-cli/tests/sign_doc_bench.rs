//! Benchmark (issue 5): signatures/signDoc PAdES B-B throughput for a 100 kB and a 10 MB PDF,
//! in the same run as (a) SHA-256 of the same bytes (aws-lc-rs, the library the server hashes
//! with) and (b) pyHanko signing the same PDF locally with a PKCS#12 key (in-process, so its
//! interpreter start-up is not counted; the CLI's wall time is reported too).
//!
//! Run it on a release build:
//!
//! ```text
//! cargo test --release -p signet-cli --test sign_doc_bench -- --ignored --nocapture
//! ```
//!
//! It prints a Markdown table (also written to target/sign_doc_bench.md) for BENCHMARKS.md.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::interop::{venv, workspace_root as root};
use common::*;
use serde_json::json;

const PIN: &str = "20481024";

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A one-page PDF from pyHanko's writer, padded to about `size` bytes with a random stream.
fn make_pdf(out: &Path, size: usize) {
    let script = r#"
import os, sys
from pyhanko.pdf_utils import generic, writer
w = writer.PdfFileWriter()
box = generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)])
content = generic.StreamObject(stream_data=b'BT /F1 12 Tf 72 720 Td (benchmark) Tj ET')
w.insert_page(writer.PageObject(contents=w.add_object(content), media_box=box))
w.root['/SignetFiller'] = w.add_object(generic.StreamObject(stream_data=os.urandom(int(sys.argv[2]))))
with open(sys.argv[1], 'wb') as f:
    w.write(f)
"#;
    sh(Command::new(venv().join("bin/python"))
        .args(["-c", script])
        .arg(out)
        .arg(size.to_string()));
}

/// pyHanko signing `pdf` `n` times in one process with a PKCS#12 key: seconds per signature.
fn pyhanko_in_process(pdf: &Path, p12: &Path, n: usize) -> f64 {
    let script = r#"
import io, sys, time
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
pdf, p12, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
signer = signers.SimpleSigner.load_pkcs12(p12, passphrase=None)
data = open(pdf, 'rb').read()
meta = signers.PdfSignatureMetadata(field_name='Signature1', subfilter=SigSeedSubFilter.PADES)
def once():
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    return signers.sign_pdf(w, meta, signer=signer).getvalue()
once()
t = time.perf_counter()
for _ in range(n):
    once()
print((time.perf_counter() - t) / n)
"#;
    sh(Command::new(venv().join("bin/python"))
        .args(["-c", script])
        .arg(pdf)
        .arg(p12)
        .arg(n.to_string()))
    .trim()
    .parse()
    .expect("seconds")
}

/// `pyhanko sign addsig ... pkcs12` as a command: wall seconds, interpreter start included.
fn pyhanko_cli(pdf: &Path, p12: &Path, out: &Path) -> f64 {
    let t = Instant::now();
    sh(Command::new(venv().join("bin/pyhanko")).args([
        "sign".as_ref(),
        "addsig".as_ref(),
        "--field".as_ref(),
        "Signature1".as_ref(),
        "--use-pades".as_ref(),
        "pkcs12".as_ref(),
        "--no-pass".as_ref(),
        pdf.as_os_str(),
        out.as_os_str(),
        p12.as_os_str(),
    ]));
    t.elapsed().as_secs_f64()
}

fn sha256_time(data: &[u8]) -> f64 {
    let _ = sha256(data);
    let n = if data.len() > 1 << 20 { 20 } else { 2000 };
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(sha256(std::hint::black_box(data)));
    }
    t.elapsed().as_secs_f64() / n as f64
}

/// `sha256sum FILE` as a command (process start and file read included), best of 5.
fn sha256sum_time(path: &Path) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            sh(Command::new("sha256sum").arg(path));
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Sequential signDoc calls over one connection; each spends one signature of an SCAL1 SAD.
async fn sign_doc_rate(server: &Server, token: &str, cred: &str, pdf: &[u8], n: u32) -> f64 {
    let sad = server
        .sad(token, cred, n + 1, None, Some(SHA256), PIN, None)
        .await;
    let body = serde_json::to_vec(&json!({
        "credentialID": cred, "SAD": sad,
        "documents": [{ "document": b64(pdf), "signature_format": "P",
                        "conformance_level": "Ades-B-B", "signAlgo": ECDSA_SHA256 }],
    }))
    .unwrap();
    let body = bytes::Bytes::from(body);
    let url = format!("{}/csc/v2/signatures/signDoc", server.url);
    let post = || async {
        let resp = server
            .http
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("signDoc");
        assert_eq!(resp.status().as_u16(), 200);
        resp.bytes().await.expect("body").len()
    };
    post().await; // warm-up (connection, caches)
    let t = Instant::now();
    for _ in 0..n - 1 {
        post().await;
    }
    t.elapsed().as_secs_f64() / f64::from(n - 1)
}

fn ms(s: f64) -> String {
    format!("{:.2} ms", s * 1000.0)
}

#[tokio::test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn sign_doc_pades_b_b_throughput() {
    let dir = tempfile::tempdir().unwrap();
    // A PKCS#12 key for pyHanko: P-256, self-signed, unencrypted.
    sh(Command::new("openssl").current_dir(dir.path()).args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-subj",
        "/CN=pyHanko bench",
    ]));
    sh(Command::new("openssl").current_dir(dir.path()).args([
        "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", "key.p12", "-passout",
        "pass:",
    ]));
    let p12 = dir.path().join("key.p12");

    let log = std::env::var("SIGNET_BENCH_LOG").unwrap_or_else(|_| "info".into());
    // A benchmark from 127.0.0.1: no per-address rate limit.
    let server = Server::start_with_env(&[
        ("SIGNET_LOG", &log),
        ("SIGNET_HTTP__REQUESTS_PER_SECOND", "0"),
    ]);
    let user = server.add_user("bench");
    let cred = server.create_credential(
        &user,
        PIN,
        &["--key", "ec-p256", "--scal", "1", "--multisign", "10000"],
    );
    let token = server.login(&user).await;

    let mut table = String::from(
        "| PDF | signDoc PAdES B-B (sequential, per signature) | signDoc rate | SHA-256 of the PDF (in process) | signDoc ÷ SHA-256 | `sha256sum` (command) | pyHanko local (in-process) | pyHanko rate | Signet ÷ pyHanko rate | pyHanko CLI (wall) |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (label, size, n, py_n) in [
        ("100 kB", 100_000usize, 300u32, 30usize),
        ("10 MB", 10_000_000, 20, 5),
    ] {
        let path = dir.path().join(format!("{label}.pdf").replace(' ', ""));
        make_pdf(&path, size);
        let pdf = std::fs::read(&path).unwrap();
        let signet = sign_doc_rate(&server, &token, &cred, &pdf, n).await;
        let hash = sha256_time(&pdf);
        let hash_cmd = sha256sum_time(&path);
        let py = pyhanko_in_process(&path, &p12, py_n);
        let cli = pyhanko_cli(&path, &p12, &dir.path().join("py-out.pdf"));
        let line = format!(
            "| {label} ({} bytes) | {} | {:.1}/s | {} | {:.1}× | {} | {} | {:.1}/s | {:.1}× | {:.2} s |\n",
            pdf.len(),
            ms(signet),
            1.0 / signet,
            ms(hash),
            signet / hash,
            ms(hash_cmd),
            ms(py),
            1.0 / py,
            py / signet,
            cli
        );
        eprint!("{line}");
        table.push_str(&line);
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let report = format!(
        "{table}\nMachine: {} cores, {cpu}. Server: release build, software key module, SQLite, HTTP/1.1 on 127.0.0.1; one client, sequential requests (each spends one signature of a multi-signature SCAL1 SAD; times include Base64 and JSON both ways).\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{report}");
    let _ = std::fs::write(root().join("target/sign_doc_bench.md"), &report);
}
