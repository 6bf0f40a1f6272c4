//! `chrono` date-times, stored as integer epoch microseconds (UTC). Sub-microsecond
//! precision is truncated on save (the same precision as PostgreSQL's `timestamptz`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::{Element, Scalar};

fn micros(bytes: &[u8]) -> std::result::Result<i64, String> {
    <i64 as Scalar>::decode_scalar(bytes)
        .map_err(|_| format!("expected epoch microseconds, found {}", super::show(bytes)))
}

impl Scalar for DateTime<Utc> {
    fn encode_scalar(&self) -> Vec<u8> {
        self.timestamp_micros().to_string().into_bytes()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        let m = micros(bytes)?;
        DateTime::from_timestamp_micros(m).ok_or_else(|| format!("epoch micros {m} out of range"))
    }
}

impl Scalar for NaiveDateTime {
    fn encode_scalar(&self) -> Vec<u8> {
        self.and_utc().encode_scalar()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        DateTime::<Utc>::decode_scalar(bytes).map(|d| d.naive_utc())
    }
}

impl Scalar for NaiveDate {
    fn encode_scalar(&self) -> Vec<u8> {
        self.and_time(chrono::NaiveTime::MIN).encode_scalar()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        let dt = NaiveDateTime::decode_scalar(bytes)?;
        if dt.time() != chrono::NaiveTime::MIN {
            return Err(format!("expected a date at midnight UTC, found {dt}"));
        }
        Ok(dt.date())
    }
}

super::scalars::scalar_elements!(DateTime<Utc>, NaiveDateTime, NaiveDate);
