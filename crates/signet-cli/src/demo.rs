//! `signet demo`: a working server in a fresh data directory with a demo signer, their SCAL2
//! credential, and everything needed to try it printed on the terminal.

use std::path::{Path, PathBuf};

use anyhow::Context;
use signet_core::KeyType;
use signet_keys::Pkcs11KeyModule;
use signet_sam::{now_unix, secrets, totp};
use signet_service::admin::CredentialSpec;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::node::Node;

const USER: &str = "alice";
/// Set on the re-executed demo process: the data directory the parent created.
const DEMO_DIR_ENV: &str = "SIGNET_DEMO_DIR";
const HSM_TOKEN: &str = "signet-demo";

/// What `--hsm` adds to the banner.
struct HsmInfo {
    conf: PathBuf,
    module: String,
    user_pin: Zeroizing<String>,
}

fn random_pin() -> anyhow::Result<Zeroizing<String>> {
    let bytes = secrets::random_bytes(6)?;
    Ok(Zeroizing::new(
        bytes.iter().map(|b| char::from(b'0' + b % 10)).collect(),
    ))
}

/// SoftHSM finds its tokens through SOFTHSM2_CONF in the environment of the process that loads
/// it. Changing our own environment is `unsafe` (edition 2024), so the demo writes a
/// configuration into its data directory and replaces itself (exec) with a copy of itself that
/// has the variable set. Returns only on failure.
fn reexec_with_softhsm_conf(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).context("creating the SoftHSM token directory")?;
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .context("writing softhsm2.conf")?;
    let exe = std::env::current_exe().context("locating the signet binary")?;
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("SOFTHSM2_CONF", &conf)
        .env(DEMO_DIR_ENV, dir)
        .exec();
    Err(err).context("re-executing signet with SOFTHSM2_CONF")
}

/// The line that moves the demo's user into the repository the binary was built from, so the
/// interop examples' relative paths work; when that checkout is gone (a copied binary), a note
/// to run them from the root of a clone instead.
fn cd_repository() -> String {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cwd_has_kit = Path::new("tests/interop/validate.sh").exists();
    match built_from.canonicalize() {
        _ if cwd_has_kit => String::new(),
        Ok(repo) if repo.join("tests/interop/validate.sh").exists() => {
            format!("cd {}\n  ", repo.display())
        }
        _ => "# from the root of a Signet clone:\n  ".to_string(),
    }
}

pub async fn run(config: &Config, hsm: bool) -> anyhow::Result<()> {
    let dir = match std::env::var_os(DEMO_DIR_ENV) {
        Some(d) => PathBuf::from(d),
        None => tempfile::Builder::new()
            .prefix("signet-demo-")
            .tempdir()
            .context("creating the demo data directory")?
            .keep(),
    };
    let mut config = config.clone();
    let mut hsm_info = None;
    if hsm {
        let module = config.keys.pkcs11_module.clone();
        anyhow::ensure!(
            Path::new(&module).exists(),
            "demo --hsm needs SoftHSM2, and {module} is missing: install it with `apt-get install softhsm2` \
             (or point SIGNET_PKCS11_MODULE at your PKCS#11 library)"
        );
        let conf = dir.join("softhsm2.conf");
        if std::env::var_os("SOFTHSM2_CONF").map(PathBuf::from) != Some(conf.clone()) {
            reexec_with_softhsm_conf(&dir)?;
        }
        let so_pin = random_pin()?;
        let user_pin = random_pin()?;
        Pkcs11KeyModule::init_token(Path::new(&module), HSM_TOKEN, &so_pin, &user_pin)
            .context("initializing the SoftHSM demo token")?;
        config.keys.backend = "pkcs11".into();
        config.keys.pkcs11_token = HSM_TOKEN.into();
        hsm_info = Some(HsmInfo {
            conf,
            module,
            user_pin,
        });
    }
    // Bound before the node opens, so that the certificates it issues name the address actually
    // bound (port 0 picks a free one) in their CRL, OCSP and CA issuer URLs.
    let bound = crate::serve::bind(&config).await?;
    config.listen = bound.addr.to_string();
    let node = Node::open_as(
        &dir,
        &config,
        crate::node::Role::Server,
        hsm_info.as_ref().map(|h| h.user_pin.clone()),
    )
    .await?;
    let password = secrets::random_secret()?;
    let password: String = password.chars().take(16).collect();
    let pin = random_pin()?;
    let enrolled = node.admin.add_user(USER, &password, None).await?;
    let cred = node
        .admin
        .create_credential(CredentialSpec {
            username: USER.into(),
            key_type: KeyType::EcP256,
            scal: 2,
            multisign: 10,
            pin: pin.clone(),
            description: Some("Demo qualified signature credential".into()),
        })
        .await?;
    let b32 = totp::secret_base32(&enrolled.totp_secret);
    let uri = totp::otpauth_uri(&config.service.name, USER, &enrolled.totp_secret);
    let url = format!("{}://{}", bound.scheme(), bound.addr);
    let ca = node.ca_pem_path.display();
    let code = totp::code_string(&enrolled.totp_secret, totp::step_at(now_unix()));
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "signet".into());
    let key_module = match &hsm_info {
        None => "software (aws-lc-rs; keys sealed under the master key)".to_string(),
        Some(h) => format!(
            "PKCS#11, SoftHSM token {HSM_TOKEN:?} (user PIN {pin})\n                 list its keys: SOFTHSM2_CONF={conf} pkcs11-tool --module {module} \\\n                   --token-label {HSM_TOKEN} --login --pin {pin} --list-objects",
            pin = *h.user_pin,
            conf = h.conf.display(),
            module = h.module,
        ),
    };
    println!(
        r#"
Signet demo — data directory {dir}

  URL            {url}   (CSC API at {url}/csc/v1/ and {url}/csc/v2/, DSS-X 2.0 at {url}/dss/v2/sign)
  username       {USER}
  password       {password}
  credential ID  {cred_id}   (ECDSA P-256, SCAL2: PIN AND OTP, multisign 10)
  PIN            {pin}
  TOTP secret    {b32}   (current code {code}; `{exe} totp {b32}` prints it)
  TOTP URI       {uri}
  CA certificate {ca}
  key module     {key_module}

Sign a PDF from this machine with Signet's own client (hash-only: the document stays here; it
asks for the PIN and the current one-time code; YOUR-signed.pdf is written beside it):

  SIGNET_USER={USER} SIGNET_PASSWORD='{password}' {exe} sign --server {url} YOUR.pdf

Try it (copy-paste into another terminal):

  URL={url} CRED={cred_id}
  TOKEN=$(curl -s -u '{USER}:{password}' -X POST $URL/csc/v2/auth/login -H 'Content-Type: application/json' -d '{{}}' \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  HASH=$(printf 'hello' | openssl dgst -sha256 -binary | base64) HASH2=$(printf 'world' | openssl dgst -sha256 -binary | base64)
  SAD=$(curl -s -X POST $URL/csc/v2/credentials/authorize -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
          -d '{{"credentialID":"'$CRED'","numSignatures":2,"hashes":["'$HASH'","'$HASH2'"],"hashAlgorithmOID":"2.16.840.1.101.3.4.2.1",
               "authData":[{{"id":"PIN","value":"{pin}"}},{{"id":"OTP","value":"'$({exe} totp {b32})'"}}]}}' \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["SAD"])')
  curl -s -X POST $URL/csc/v2/signatures/signHash -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
       -d '{{"credentialID":"'$CRED'","SAD":"'$SAD'","hashes":["'$HASH'"],"signAlgo":"1.2.840.10045.4.3.2"}}'
  # The second authorized hash through DSS-X 2.0 (XML), with the same SAD:
  curl -s -X POST $URL/dss/v2/sign -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/xml' --data-binary \
       '<dss2:SignRequest xmlns:dss2="http://docs.oasis-open.org/dss-x/ns/core" xmlns:dsb="http://docs.oasis-open.org/dss-x/ns/base">
        <dss2:InputDocuments><dss2:DocumentHash ID="h1"><dss2:DigestInfos>
          <dsb:DigestMethod>http://www.w3.org/2001/04/xmlenc#sha256</dsb:DigestMethod><dsb:DigestValue>'$HASH2'</dsb:DigestValue>
        </dss2:DigestInfos></dss2:DocumentHash></dss2:InputDocuments>
        <dss2:OptionalInputs>
          <dsb:Other MimeType="application/vnd.etsi.ts119432.sad"><dsb:Value>'$(printf %s "$SAD" | base64 -w0)'</dsb:Value></dsb:Other>
          <dss2:KeySelector><dss2:KeyName>'$CRED'</dss2:KeyName></dss2:KeySelector>
          <dss2:SignatureAlgorithm>http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256</dss2:SignatureAlgorithm>
        </dss2:OptionalInputs></dss2:SignRequest>' | tee {dir}/dss-response.xml

Check the DSS-X answer against the DSS-X 2.0 schema, sign a PDF with pyHanko's CSC client, then
have pyHanko and poppler's pdfsig check it. The scripts are the repository's own
(tests/interop/); setup.sh installs the tools once (Debian packages need root or sudo). Each
TOTP code is accepted once: right after the curl example, wait for the next code (at most 30 s).

  {cd_repo}tests/interop/setup.sh
  tests/interop/validate.sh dssx {dir}/dss-response.xml
  target/interop-venv/bin/python tests/interop/make_pdf.py {dir}/doc.pdf
  target/interop-venv/bin/python tests/interop/csc_sign_pdf.py --url={url} --credential={cred_id} \
      --user={USER} --password='{password}' --pin={pin} --totp-secret={b32} \
      {dir}/doc.pdf {dir}/signed.pdf
  tests/interop/validate.sh pades {dir}/signed.pdf {ca}

Press Ctrl-C to stop.
"#,
        dir = dir.display(),
        cd_repo = cd_repository(),
        cred_id = cred.id,
        pin = *pin,
    );
    crate::serve::serve(&node, bound).await
}
