use super::*;

fn rt<T: Scalar + PartialEq + std::fmt::Debug>(v: T) {
    let bytes = v.encode_scalar();
    assert_eq!(
        T::decode_scalar(&bytes).unwrap(),
        v,
        "bytes {:?}",
        show(&bytes)
    );
}

#[test]
fn scalars_round_trip() {
    rt(i64::MIN);
    rt(i64::MAX);
    rt(u64::MAX);
    rt(i128::MIN);
    rt(0u8);
    rt(String::new());
    rt("ü\0{}:*\"".to_string());
    rt(vec![0u8, 255, 10]);
    rt('é');
    rt(true);
    rt(false);
    rt(Some(Some(String::new())));
    rt(Some(None::<String>));
    rt(None::<Option<i64>>);
    for f in [
        f64::MIN,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        -0.0,
        0.1,
        1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let back = f64::decode_scalar(&f.encode_scalar()).unwrap();
        assert_eq!(back.to_bits(), f.to_bits(), "{f:?}");
    }
    assert!(
        f64::decode_scalar(&f64::NAN.encode_scalar())
            .unwrap()
            .is_nan()
    );
    let f = f32::MIN_POSITIVE / 3.0;
    assert_eq!(
        f32::decode_scalar(&f.encode_scalar()).unwrap().to_bits(),
        f.to_bits()
    );
}

#[test]
fn bad_bytes_are_errors() {
    assert!(i64::decode_scalar(b"12x").is_err());
    assert!(u8::decode_scalar(b"256").is_err());
    assert!(String::decode_scalar(&[0xff, 0xfe]).is_err());
    assert!(bool::decode_scalar(b"yes").is_err());
    assert!(<Option<i64>>::decode_scalar(b"").is_err());
    assert!(<Option<i64>>::decode_scalar(&[2]).is_err());
    assert!(char::decode_scalar(b"ab").is_err());
    assert!(f64::decode_scalar(b"1,5").is_err());
}
