//! `signet demo`: a working server in a fresh data directory with a demo signer, their SCAL2
//! credential, and everything needed to try it printed on the terminal.

use anyhow::Context;
use signet_core::KeyType;
use signet_sam::{now_unix, secrets, totp};
use signet_server::admin::CredentialSpec;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::node::Node;

const USER: &str = "alice";

fn random_pin() -> anyhow::Result<Zeroizing<String>> {
    let bytes = secrets::random_bytes(6)?;
    Ok(Zeroizing::new(bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()))
}

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("signet-demo-")
        .tempdir()
        .context("creating the demo data directory")?
        .keep();
    let node = Node::open(&dir, config).await?;
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
    let url = format!("http://{}", config.listen);
    let ca = node.ca_pem_path.display();
    let code = totp::code_string(&enrolled.totp_secret, totp::step_at(now_unix()));
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "signet".into());
    println!(
        r#"
Signet demo — data directory {dir}

  URL            {url}   (CSC API at {url}/csc/v1/ and {url}/csc/v2/)
  username       {USER}
  password       {password}
  credential ID  {cred_id}   (ECDSA P-256, SCAL2: PIN AND OTP, multisign 10)
  PIN            {pin}
  TOTP secret    {b32}   (current code {code}; `{exe} totp {b32}` prints it)
  TOTP URI       {uri}
  CA certificate {ca}

Try it (copy-paste into another terminal):

  URL={url} CRED={cred_id}
  TOKEN=$(curl -s -u '{USER}:{password}' -X POST $URL/csc/v2/auth/login -H 'Content-Type: application/json' -d '{{}}' \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  HASH=$(printf 'hello' | openssl dgst -sha256 -binary | base64)
  SAD=$(curl -s -X POST $URL/csc/v2/credentials/authorize -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
          -d '{{"credentialID":"'$CRED'","numSignatures":1,"hashes":["'$HASH'"],"hashAlgorithmOID":"2.16.840.1.101.3.4.2.1",
               "authData":[{{"id":"PIN","value":"{pin}"}},{{"id":"OTP","value":"'$({exe} totp {b32})'"}}]}}' \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["SAD"])')
  curl -s -X POST $URL/csc/v2/signatures/signHash -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
       -d '{{"credentialID":"'$CRED'","SAD":"'$SAD'","hashes":["'$HASH'"],"signAlgo":"1.2.840.10045.4.3.2"}}'

Sign a PDF with pyHanko's CSC client (after ../shared/interop/setup.sh):

  target/interop-venv/bin/python ../shared/interop/make_pdf.py doc.pdf
  target/interop-venv/bin/python ../shared/interop/pyhanko_csc_sign.py --url {url} --credential {cred_id} \
      --user {USER} --password '{password}' --pin {pin} --totp-secret {b32} doc.pdf signed.pdf
  ../shared/interop/validate.sh pades signed.pdf {ca}

Press Ctrl-C to stop.
"#,
        dir = dir.display(),
        cred_id = cred.id,
        pin = *pin,
    );
    crate::serve::run(&node, &config.listen).await
}
