//! An organisation's S3-compatible bucket for call recordings: what makes a
//! valid one, the presigned addresses the browser plays from, the upload
//! settings handed to LiveKit's egress, and the check that the keys work.
//!
//! Signing is rusty-s3's (SigV4, no I/O of its own); every request this
//! server makes to the bucket goes through the egress policy's client, as
//! the endpoint is the tenant's.

use std::time::Duration;

use livekit_protocol as proto;
use rusty_s3::{Bucket as S3Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

/// A bucket set whole.
#[derive(Clone)]
pub struct Bucket {
    pub endpoint: Url,
    pub region: String,
    pub name: String,
    pub path_style: bool,
    pub access_key: String,
    secret_key: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("endpoint", &self.endpoint.as_str())
            .field("region", &self.region)
            .field("name", &self.name)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// The field that does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketField {
    Endpoint,
    Region,
    Bucket,
    AccessKey,
    SecretKey,
}

impl BucketField {
    pub fn name(self) -> &'static str {
        match self {
            BucketField::Endpoint => "endpoint",
            BucketField::Region => "region",
            BucketField::Bucket => "bucket",
            BucketField::AccessKey => "access_key",
            BucketField::SecretKey => "secret_key",
        }
    }
}

/// `http(s)://host[:port][/]`, no credentials, query or path: the bucket
/// goes in the path or the host, not here.
pub fn parse_endpoint(s: &str) -> Result<Url, BucketField> {
    let u = Url::parse(s.trim()).map_err(|_| BucketField::Endpoint)?;
    let plain = matches!(u.scheme(), "http" | "https")
        && u.host_str().is_some_and(|h| !h.is_empty())
        && u.username().is_empty()
        && u.password().is_none()
        && u.query().is_none()
        && u.fragment().is_none()
        && (u.path() == "/" || u.path().is_empty());
    if !plain || s.len() > 500 {
        return Err(BucketField::Endpoint);
    }
    Ok(u)
}

/// S3's bucket naming rules: 3–63 of `a-z0-9.-`, starting and ending with a
/// letter or digit, no `..`, not an IP address.
pub fn valid_bucket_name(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !s.contains("..")
        && s.parse::<std::net::Ipv4Addr>().is_err()
}

/// `us-east-1`, `eu-west-3`, `auto`, `garage`: lowercase letters, digits, dashes.
pub fn valid_region(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

fn valid_key(s: &str) -> bool {
    (1..=200).contains(&s.len()) && s.bytes().all(|c| (0x21..=0x7e).contains(&c))
}

impl Bucket {
    pub fn new(
        endpoint: &str,
        region: &str,
        name: &str,
        path_style: bool,
        access_key: &str,
        secret_key: &str,
    ) -> Result<Bucket, BucketField> {
        let endpoint = parse_endpoint(endpoint)?;
        if !valid_region(region) {
            return Err(BucketField::Region);
        }
        if !valid_bucket_name(name) {
            return Err(BucketField::Bucket);
        }
        if !valid_key(access_key) {
            return Err(BucketField::AccessKey);
        }
        if !valid_key(secret_key) {
            return Err(BucketField::SecretKey);
        }
        Ok(Bucket {
            endpoint,
            region: region.into(),
            name: name.into(),
            path_style,
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        })
    }

    fn s3(&self) -> S3Bucket {
        let style = if self.path_style { UrlStyle::Path } else { UrlStyle::VirtualHost };
        // Every part was checked in `new`: a URL with a host, a valid name.
        S3Bucket::new(self.endpoint.clone(), style, self.name.clone(), self.region.clone())
            .expect("a checked endpoint makes a bucket")
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(self.access_key.clone(), self.secret_key.clone())
    }

    /// A GET of `key` valid for `ttl`, answered with `content_type`.
    pub fn presign_get(&self, key: &str, ttl: Duration, content_type: &str) -> Url {
        let (bucket, creds) = (self.s3(), self.credentials());
        let mut action = bucket.get_object(Some(&creds), key);
        action.query_mut().insert("response-content-type", content_type.to_string());
        action.sign(ttl)
    }

    /// The same, signed as of `at` (seconds since the epoch): for tests
    /// that compare with another implementation.
    pub fn presign_get_at(&self, key: &str, ttl: Duration, at: i64) -> Url {
        let (bucket, creds) = (self.s3(), self.credentials());
        let action = bucket.get_object(Some(&creds), key);
        let time = rusty_s3_time(at);
        action.sign_with_time(ttl, &time)
    }

    /// Where LiveKit's egress uploads the file.
    pub fn upload(&self) -> proto::S3Upload {
        let mut endpoint = self.endpoint.to_string();
        if endpoint.ends_with('/') {
            endpoint.pop();
        }
        proto::S3Upload {
            access_key: self.access_key.clone(),
            secret: self.secret_key.clone(),
            region: self.region.clone(),
            endpoint,
            bucket: self.name.clone(),
            force_path_style: self.path_style,
            ..Default::default()
        }
    }

    /// Writes and deletes a small object with these keys, through `http`.
    pub async fn check(&self, http: &reqwest::Client, key: &str) -> Result<(), CheckError> {
        let (bucket, creds) = (self.s3(), self.credentials());
        let put = bucket.put_object(Some(&creds), key).sign(Duration::from_secs(60));
        let res = http
            .put(put)
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body("Handoo checks that it may write recordings here.")
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(CheckError::from_reqwest)?;
        CheckError::from_status(res.status())?;
        let delete = bucket.delete_object(Some(&creds), key).sign(Duration::from_secs(60));
        let res = http
            .delete(delete)
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(CheckError::from_reqwest)?;
        CheckError::from_status(res.status())
    }
}

fn rusty_s3_time(at: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(at).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// Why the bucket check failed, as a code the page can explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The egress policy refused the address.
    Refused,
    Unreachable,
    Timeout,
    /// 401/403: the keys (or the bucket's policy) do not allow writing.
    Denied,
    /// 404: no such bucket.
    NoBucket,
    Status(u16),
}

impl CheckError {
    fn from_reqwest(e: reqwest::Error) -> CheckError {
        if providers::egress::is_refused(&e) {
            CheckError::Refused
        } else if e.is_timeout() {
            CheckError::Timeout
        } else {
            CheckError::Unreachable
        }
    }

    fn from_status(s: reqwest::StatusCode) -> Result<(), CheckError> {
        match s.as_u16() {
            200..=299 => Ok(()),
            401 | 403 => Err(CheckError::Denied),
            404 => Err(CheckError::NoBucket),
            n => Err(CheckError::Status(n)),
        }
    }

    /// The code stored with the check and shown on the page.
    pub fn code(&self) -> domain::ErrorCode {
        use domain::ErrorCode;
        match self {
            CheckError::Refused => ErrorCode::ProviderAddressRefused,
            CheckError::Unreachable => ErrorCode::ProviderUnavailable,
            CheckError::Timeout => ErrorCode::ProviderTimeout,
            CheckError::Denied => ErrorCode::ProviderAuth,
            CheckError::NoBucket => ErrorCode::NotFound,
            CheckError::Status(n) if *n >= 500 => ErrorCode::ProviderUnavailable,
            CheckError::Status(_) => ErrorCode::ProviderBadRequest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> Bucket {
        Bucket::new(
            "https://s3.amazonaws.com",
            "us-east-1",
            "examplebucket",
            false,
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .unwrap()
    }

    #[test]
    fn presigned_get_matches_aws_s_documented_example() {
        // "Authenticating Requests: Using Query Parameters (AWS Signature
        // Version 4)", Amazon S3 API reference: GET /test.txt of
        // examplebucket, 2013-05-24T00:00:00Z, 86400 s.
        let url = bucket().presign_get_at("test.txt", Duration::from_secs(86_400), 1_369_353_600);
        let sig = url.query_pairs().find(|(k, _)| k == "X-Amz-Signature").map(|(_, v)| v.into_owned());
        assert_eq!(sig.as_deref(), Some("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
        assert_eq!(url.host_str(), Some("examplebucket.s3.amazonaws.com"));
    }

    #[test]
    fn only_whole_plain_buckets_are_accepted() {
        let ok = |e: &str, r: &str, b: &str| Bucket::new(e, r, b, true, "AK", "SK").map(|_| ());
        assert_eq!(ok("http://127.0.0.1:9000", "us-east-1", "calls"), Ok(()));
        assert_eq!(ok("https://minio.example.com/", "auto", "rec.ordings-1"), Ok(()));
        for e in [
            "ftp://example.com",
            "https://user:pw@example.com",
            "https://example.com/bucket",
            "https://example.com/?x=1",
            "example.com",
            "",
        ] {
            assert_eq!(ok(e, "us-east-1", "calls"), Err(BucketField::Endpoint), "{e}");
        }
        for b in ["ab", "Calls", "-calls", "calls-", "a..b", "192.168.1.1", &"a".repeat(64), "cal_ls"] {
            assert_eq!(ok("https://s3.example.com", "us-east-1", b), Err(BucketField::Bucket), "{b}");
        }
        for r in ["", "US-EAST-1", "eu west", &"a".repeat(65)] {
            assert_eq!(ok("https://s3.example.com", r, "calls"), Err(BucketField::Region), "{r}");
        }
        assert_eq!(
            Bucket::new("https://s3.example.com", "auto", "calls", true, "has space", "SK").map(|_| ()),
            Err(BucketField::AccessKey)
        );
        assert_eq!(
            Bucket::new("https://s3.example.com", "auto", "calls", true, "AK", "").map(|_| ()),
            Err(BucketField::SecretKey)
        );
    }

    #[test]
    fn the_secret_key_stays_out_of_debug_output() {
        assert!(!format!("{:?}", bucket()).contains("wJalrXUtnFEMI"));
    }

    #[test]
    fn livekit_uploads_to_the_same_place() {
        let u =
            Bucket::new("http://127.0.0.1:9000/", "us-east-1", "calls", true, "AK", "SK").unwrap().upload();
        assert_eq!(
            (u.endpoint.as_str(), u.bucket.as_str(), u.force_path_style),
            ("http://127.0.0.1:9000", "calls", true)
        );
    }
}
