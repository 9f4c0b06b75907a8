//! The ceremony checks against a software authenticator: every refusal WebAuthn §7.1
//! and §7.2 call for, each alone.

use super::software::SoftAuthenticator;
use super::*;
use crate::crypto::b64url;

const ORIGIN: &str = "https://id.example.com";
const CHALLENGE: &[u8] = b"a challenge of thirty-two bytes!";

fn rp() -> RelyingParty {
    RelyingParty::for_url(&url::Url::parse("https://id.example.com/").unwrap())
}

fn authenticator() -> SoftAuthenticator {
    SoftAuthenticator::new(ORIGIN, "id.example.com")
}

fn registered(auth: &SoftAuthenticator) -> NewCredential {
    let (data, object) = auth.register(&b64url(CHALLENGE), false);
    register(&rp(), &client_data(&data).unwrap(), &object, true).unwrap()
}

#[test]
fn registration_accepts_none_and_packed_self_attestation() {
    let auth = authenticator();
    let rp = rp();
    assert_eq!(rp.id, "id.example.com");
    assert_eq!(rp.origin, ORIGIN);
    let credential = registered(&auth);
    assert_eq!(credential.credential_id, auth.credential_id);
    assert_eq!(credential.format, "none");
    assert!(credential.user_verified);
    assert_eq!(
        cose::parse(&credential.public_key).unwrap().alg(),
        cose::ES256
    );

    let (data, object) = auth.register(&b64url(CHALLENGE), true);
    let parsed = client_data(&data).unwrap();
    assert_eq!(parsed.challenge, CHALLENGE);
    assert_eq!(
        register(&rp, &parsed, &object, true).unwrap().format,
        "packed"
    );
    // A packed statement signed over other client data.
    let (other, _) = auth.register("b3RoZXI", false);
    assert_eq!(
        register(&rp, &client_data(&other).unwrap(), &object, true).unwrap_err(),
        Refused::BadSignature
    );
}

#[test]
fn registration_refuses_another_origin_rp_id_ceremony_or_missing_flags() {
    let rp = rp();
    let run = |auth: &SoftAuthenticator, uv: bool| {
        let (data, object) = auth.register(&b64url(CHALLENGE), false);
        register(&rp, &client_data(&data).unwrap(), &object, uv)
    };
    let mut auth = authenticator();
    auth.origin = "https://id.example.com.evil.test".into();
    assert_eq!(run(&auth, true).unwrap_err(), Refused::WrongOrigin);
    auth.origin = "http://id.example.com".into();
    assert_eq!(run(&auth, true).unwrap_err(), Refused::WrongOrigin);
    let mut auth = authenticator();
    auth.rp_id = "example.com".into();
    assert_eq!(run(&auth, true).unwrap_err(), Refused::WrongRpId);
    let mut auth = authenticator();
    auth.verified = false;
    assert_eq!(run(&auth, true).unwrap_err(), Refused::NoUserVerification);
    assert!(run(&auth, false).is_ok());

    let auth = authenticator();
    let (data, object) = auth.register(&b64url(CHALLENGE), false);
    let mut get = client_data(&data).unwrap();
    get.kind = "webauthn.get".into();
    assert_eq!(
        register(&rp, &get, &object, true).unwrap_err(),
        Refused::WrongType
    );
    let mut framed = client_data(&data).unwrap();
    framed.cross_origin = true;
    assert_eq!(
        register(&rp, &framed, &object, true).unwrap_err(),
        Refused::WrongOrigin
    );
    // Truncated, or with bytes appended.
    let good = client_data(&data).unwrap();
    for bad in [
        &object[..object.len() - 1],
        &[object.clone(), vec![0]].concat()[..],
    ] {
        assert!(matches!(
            register(&rp, &good, bad, true),
            Err(Refused::Malformed(_))
        ));
    }
    assert!(client_data(b"{\"type\":\"webauthn.create\"}").is_err());
    assert!(client_data(b"not json").is_err());
}

#[test]
fn registration_refuses_attestation_it_cannot_check_and_unknown_keys() {
    let auth = authenticator();
    let (data, object) = auth.register(&b64url(CHALLENGE), true);
    let data = client_data(&data).unwrap();
    let mut value = cbor::decode(&object).unwrap();
    let Value::Map(pairs) = &mut value else {
        panic!()
    };
    let edit = |pairs: &mut Vec<(Value, Value)>, key: &str, to: Value| {
        pairs
            .iter_mut()
            .find(|(k, _)| *k == Value::Text(key.into()))
            .unwrap()
            .1 = to;
    };
    let mut with_x5c = pairs.clone();
    let Value::Map(statement) = &mut with_x5c[1].1 else {
        panic!()
    };
    statement.push((
        Value::Text("x5c".into()),
        Value::Array(vec![Value::Bytes(vec![0x30])]),
    ));
    let mut tpm = pairs.clone();
    edit(&mut tpm, "fmt", Value::Text("tpm".into()));
    let mut none_with_statement = pairs.clone();
    edit(&mut none_with_statement, "fmt", Value::Text("none".into()));
    let mut wrong_alg = pairs.clone();
    let Value::Map(statement) = &mut wrong_alg[1].1 else {
        panic!()
    };
    statement[0].1 = Value::Int(-257);
    for (object, want) in [
        (with_x5c, Refused::Unsupported("attestation certificates")),
        (tpm, Refused::Unsupported("this attestation format")),
        (
            none_with_statement,
            Refused::Malformed("a `none` attestation with a statement"),
        ),
        (
            wrong_alg,
            Refused::Malformed("the statement's alg is not the key's"),
        ),
    ] {
        let bytes = cbor::encode(&Value::Map(object));
        assert_eq!(register(&rp(), &data, &bytes, true).unwrap_err(), want);
    }
}

#[test]
fn an_assertion_is_checked_against_the_stored_key_and_counter() {
    let rp = rp();
    let mut auth = authenticator();
    let credential = registered(&auth);
    let run = |auth: &SoftAuthenticator, stored_count: u32, uv: bool| {
        let (data, authenticator, sig) = auth.assert(&b64url(CHALLENGE));
        let stored = Stored {
            public_key: &credential.public_key,
            sign_count: stored_count,
        };
        assert(
            &rp,
            &client_data(&data).unwrap(),
            &authenticator,
            &sig,
            &stored,
            uv,
        )
    };
    // No counter on either side: accepted every time.
    assert_eq!(run(&auth, 0, true).unwrap().sign_count, 0);
    auth.counter = 5;
    let asserted = run(&auth, 4, true).unwrap();
    assert_eq!((asserted.sign_count, asserted.user_verified), (5, true));
    assert_eq!(
        run(&auth, 5, true).unwrap_err(),
        Refused::CounterRegression {
            stored: 5,
            presented: 5
        }
    );
    assert_eq!(
        run(&auth, 9, true).unwrap_err(),
        Refused::CounterRegression {
            stored: 9,
            presented: 5
        }
    );
    auth.counter = 0;
    assert!(matches!(
        run(&auth, 3, true),
        Err(Refused::CounterRegression { .. })
    ));

    // Another key's signature; another origin, RP ID; no user verification.
    let other = authenticator();
    let mut stranger = authenticator();
    stranger.credential_id = other.credential_id.clone();
    assert_eq!(run(&stranger, 0, true).unwrap_err(), Refused::BadSignature);
    let mut auth = authenticator();
    let credential_b = registered(&auth);
    auth.origin = "https://evil.test".into();
    let (data, authenticator_data, sig) = auth.assert(&b64url(CHALLENGE));
    let stored = Stored {
        public_key: &credential_b.public_key,
        sign_count: 0,
    };
    assert_eq!(
        assert(
            &rp,
            &client_data(&data).unwrap(),
            &authenticator_data,
            &sig,
            &stored,
            true
        )
        .unwrap_err(),
        Refused::WrongOrigin
    );
    auth.origin = ORIGIN.into();
    auth.rp_id = "evil.test".into();
    let (data, authenticator_data, sig) = auth.assert(&b64url(CHALLENGE));
    assert_eq!(
        assert(
            &rp,
            &client_data(&data).unwrap(),
            &authenticator_data,
            &sig,
            &stored,
            true
        )
        .unwrap_err(),
        Refused::WrongRpId
    );
    auth.rp_id = "id.example.com".into();
    auth.verified = false;
    let (data, authenticator_data, sig) = auth.assert(&b64url(CHALLENGE));
    let data = client_data(&data).unwrap();
    assert_eq!(
        assert(&rp, &data, &authenticator_data, &sig, &stored, true).unwrap_err(),
        Refused::NoUserVerification
    );
    assert!(
        !assert(&rp, &data, &authenticator_data, &sig, &stored, false)
            .unwrap()
            .user_verified
    );
    // A registration's client data is not an assertion's.
    let (create, _) = auth.register(&b64url(CHALLENGE), false);
    assert_eq!(
        assert(
            &rp,
            &client_data(&create).unwrap(),
            &authenticator_data,
            &sig,
            &stored,
            false
        )
        .unwrap_err(),
        Refused::WrongType
    );
    // User presence is always required.
    let mut absent = authenticator_data.clone();
    absent[32] &= !0x01;
    assert_eq!(
        assert(&rp, &data, &absent, &sig, &stored, false).unwrap_err(),
        Refused::NoUserPresence
    );
}

#[test]
fn authenticator_data_must_be_whole_and_consistent() {
    assert!(authenticator_data(&[0; 36]).is_err());
    let mut data = vec![0u8; 37];
    data[32] = 0x01 | 0x10; // backed up without backup eligibility
    assert!(authenticator_data(&data).is_err());
    data[32] = 0x01 | 0x40; // AT with nothing after
    assert!(authenticator_data(&data).is_err());
    data[32] = 0x01 | 0x80; // ED with an extension map
    data.push(0xa0);
    assert!(authenticator_data(&data).is_ok());
    data.push(0);
    assert!(authenticator_data(&data).is_err());
}
