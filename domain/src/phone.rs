//! Phone numbers with libphonenumber's rules (the `phonenumber` crate):
//! parsing in a default region, validation against the real numbering plan,
//! E.164 storage, and the prospect's time zone inferred from the number.
//!
//! Only compiled with the `phone` feature: the metadata tables are large and
//! the browser never needs them (the server answers with typed errors).

use phonenumber::{country, Mode};

use crate::error::FieldError;
use crate::ErrorCode;

/// A validated number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+33612345678`.
    pub e164: String,
    /// ISO 3166 region the number belongs to (`FR`, `US`), when known.
    pub region: Option<String>,
    /// The national significant number's digits (`612345678`), for search.
    pub national: String,
}

/// Parses `input` (`06 12 34 56 78`, `+1 (415) 555-0100`, `0033 6…`) using
/// `default_region` for numbers written without a country code.
pub fn normalize_phone(input: &str, default_region: Option<&str>) -> Result<Phone, FieldError> {
    let err = || FieldError::new("phone", ErrorCode::InvalidPhone).with_detail(input.trim().to_string());
    let raw = input.trim();
    if raw.is_empty() || raw.len() > 40 {
        return Err(err());
    }
    // "0033…" is how many Europeans write an international number.
    let owned;
    let raw = if let Some(rest) = raw.strip_prefix("00") {
        owned = format!("+{rest}");
        owned.as_str()
    } else {
        raw
    };
    // A number written with its country code does not depend on the default
    // region, and phonenumber 0.3 mishandles the pair: it strips the default
    // region's national prefix from it ("+33 1 42 76 49 78" read with `US`
    // lost its leading 1 and was refused). Fixed upstream in 0.4.
    let international = raw.starts_with(['+', '\u{FF0B}']);
    let region = default_region
        .filter(|_| !international)
        .and_then(|r| r.trim().to_ascii_uppercase().parse::<country::Id>().ok());
    let number = phonenumber::parse(region, raw).map_err(|_| err())?;
    if !phonenumber::is_valid(&number) {
        return Err(err());
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    // E.164 caps a number at 15 digits, country code included; libphonenumber's
    // German metadata accepts longer ones ("+49 201 00000015264"), which no
    // carrier or SIP trunk will route.
    if e164.len() > 16 {
        return Err(err());
    }
    let region = number.country().id().map(|id| id.as_ref().to_string());
    let national = number.national().value().to_string();
    Ok(Phone { e164, region, national })
}

/// Whether `region` is an ISO 3166 region libphonenumber knows (`FR`, `US`).
pub fn is_region(region: &str) -> bool {
    region.len() == 2 && region.to_ascii_uppercase().parse::<country::Id>().is_ok()
}

/// The IANA zone a number most likely rings in: by area code inside the
/// multi-zone NANP countries (US, Canada), Australia and Brazil, by country
/// elsewhere. `None` for toll-free and non-geographic numbers.
pub fn infer_timezone(phone: &Phone) -> Option<&'static str> {
    let region = phone.region.as_deref()?;
    match region {
        "US" | "CA" => nanp_zone(phone.national.get(..3)?),
        "AU" => australia_zone(&phone.national),
        "BR" => brazil_zone(phone.national.get(..2)?),
        "MX" => Some(mexico_zone(&phone.national)),
        "RU" => russia_zone(&phone.national),
        "ID" => indonesia_zone(&phone.national),
        // Islands an hour behind the mainland, by their area codes.
        "ES" if ["922", "928"].iter().any(|c| phone.national.starts_with(c)) => Some("Atlantic/Canary"),
        "PT" if ["292", "295", "296"].iter().any(|c| phone.national.starts_with(c)) => {
            Some("Atlantic/Azores")
        }
        _ => COUNTRY_ZONES.iter().find(|(c, _)| *c == region).map(|(_, z)| *z),
    }
}

fn nanp_zone(area: &str) -> Option<&'static str> {
    NANP_ZONES.iter().find(|(_, codes)| codes.split(' ').any(|c| c == area)).map(|(z, _)| *z)
}

fn australia_zone(national: &str) -> Option<&'static str> {
    // Geographic numbers: 2 NSW/ACT, 3 VIC/TAS, 7 QLD, 8 SA/NT/WA.
    Some(match national.get(..1)? {
        "2" => "Australia/Sydney",
        "3" => "Australia/Melbourne",
        "7" => "Australia/Brisbane",
        "8" => match national.get(..2)? {
            "89" | "86" | "85" => "Australia/Perth",
            _ => "Australia/Adelaide",
        },
        // Mobiles (4) and 1300/1800 numbers say nothing of where the person
        // is, and the country spans three hours: no guess.
        _ => return None,
    })
}

/// Mexico's area codes are shared by landlines and mobiles, so they place
/// both; the states off Central time are listed, the rest is Central.
fn mexico_zone(national: &str) -> &'static str {
    let area = national.get(..3).unwrap_or_default();
    MEXICO_ZONES
        .iter()
        .find(|(_, codes)| codes.split(' ').any(|c| c == area))
        .map_or("America/Mexico_City", |(zone, _)| *zone)
}

const MEXICO_ZONES: &[(&str, &str)] = &[
    ("America/Tijuana", "664 686 646 665 661 653 658"),
    ("America/Hermosillo", "662 631 642 644 633 647 637 641"),
    ("America/Mazatlan", "669 667 668 612 613 615 624 311 319 323 324 325 694 695 696 697 698"),
    ("America/Cancun", "998 984 983"),
    ("America/Chihuahua", "614 625 627 628 629 635 636 639 648 649"),
];

/// Russia spans eleven zones and its mobiles (9xx) are not geographic: only
/// Moscow's and Saint Petersburg's landlines are placed.
fn russia_zone(national: &str) -> Option<&'static str> {
    ["495", "496", "498", "499", "812"].iter().any(|c| national.starts_with(c)).then_some("Europe/Moscow")
}

/// Indonesia spans three zones and its mobiles (8xx) are not geographic:
/// only the big Western (Java) landline areas are placed.
fn indonesia_zone(national: &str) -> Option<&'static str> {
    ["21", "22", "24", "31"].iter().any(|c| national.starts_with(c)).then_some("Asia/Jakarta")
}

fn brazil_zone(ddd: &str) -> Option<&'static str> {
    Some(match ddd {
        "65" | "66" | "67" => "America/Cuiaba",
        "68" => "America/Rio_Branco",
        "69" => "America/Porto_Velho",
        "92" | "97" => "America/Manaus",
        "95" => "America/Boa_Vista",
        "91" | "93" | "94" => "America/Belem",
        "81" | "87" => "America/Recife",
        "85" | "88" => "America/Fortaleza",
        "71" | "73" | "74" | "75" | "77" => "America/Bahia",
        _ => "America/Sao_Paulo",
    })
}

/// NANP area codes (US + Canada) by zone. Where a code straddles two zones
/// the more populous side wins; the user can correct any prospect's zone.
const NANP_ZONES: &[(&str, &str)] = &[
    (
        "America/New_York",
        "201 202 203 207 212 215 216 220 223 229 234 239 240 252 267 272 283 301 302 304 305 313 315 \
         321 326 329 330 332 336 339 347 351 352 363 380 386 401 404 407 410 412 413 419 423 434 436 \
         440 443 445 448 470 472 475 478 484 502 508 513 516 518 540 551 561 567 570 571 582 585 586 \
         603 606 607 609 610 614 617 624 631 640 646 656 667 678 680 681 689 703 704 706 716 717 718 \
         724 727 732 734 740 743 754 757 762 770 771 772 774 781 786 802 803 804 810 813 814 821 826 \
         828 835 838 839 843 845 848 850 854 856 857 859 860 862 863 864 865 878 904 908 910 912 914 \
         917 919 929 934 937 941 943 947 948 954 959 973 978 980 984 989 231 248 269 517 616 679 906",
    ),
    (
        "America/Chicago",
        "205 210 214 217 218 219 224 225 228 251 254 256 262 270 274 281 309 312 314 316 318 319 320 \
         325 327 331 334 337 346 353 361 364 402 405 409 414 417 430 432 447 464 469 479 501 504 507 \
         512 515 531 534 539 557 563 572 573 580 601 605 608 612 615 618 620 629 630 636 641 651 659 \
         660 662 682 701 708 712 713 715 726 730 731 737 763 769 773 779 785 806 815 816 817 830 832 \
         847 861 870 872 901 903 913 918 920 931 936 938 940 945 952 956 972 975 979 985 308",
    ),
    ("America/Indiana/Indianapolis", "260 317 463 574 765 812 930"),
    ("America/Denver", "303 307 385 406 435 505 575 719 720 801 915 970 983"),
    ("America/Boise", "208 986"),
    ("America/Phoenix", "480 520 602 623 928"),
    (
        "America/Los_Angeles",
        "206 209 213 253 279 310 323 341 350 360 369 408 415 424 425 442 458 503 509 510 530 541 559 \
         562 564 619 626 628 650 657 661 669 702 707 714 725 747 760 775 805 818 820 831 840 858 909 \
         916 925 949 951 971",
    ),
    ("America/Anchorage", "907"),
    ("Pacific/Honolulu", "808"),
    ("America/Puerto_Rico", "787 939"),
    (
        "America/Toronto",
        "226 249 263 289 343 354 365 367 382 416 418 437 438 450 468 514 519 548 579 581 613 647 683 705 \
         742 753 807 819 873 905",
    ),
    ("America/Winnipeg", "204 431 584"),
    ("America/Regina", "306 474 639"),
    ("America/Edmonton", "368 403 587 780 825 867"),
    ("America/Vancouver", "236 250 604 672 778"),
    ("America/Halifax", "782 902"),
    ("America/Moncton", "428 506"),
    ("America/St_Johns", "709"),
];

/// Countries in one zone (or, for ES and PT, the mainland's once their
/// islands are placed above). Multi-zone countries are handled by number.
const COUNTRY_ZONES: &[(&str, &str)] = &[
    ("FR", "Europe/Paris"),
    ("BE", "Europe/Brussels"),
    ("CH", "Europe/Zurich"),
    ("LU", "Europe/Luxembourg"),
    ("MC", "Europe/Monaco"),
    ("DE", "Europe/Berlin"),
    ("AT", "Europe/Vienna"),
    ("NL", "Europe/Amsterdam"),
    ("GB", "Europe/London"),
    ("IE", "Europe/Dublin"),
    ("ES", "Europe/Madrid"),
    ("PT", "Europe/Lisbon"),
    ("IT", "Europe/Rome"),
    ("DK", "Europe/Copenhagen"),
    ("SE", "Europe/Stockholm"),
    ("NO", "Europe/Oslo"),
    ("FI", "Europe/Helsinki"),
    ("IS", "Atlantic/Reykjavik"),
    ("PL", "Europe/Warsaw"),
    ("CZ", "Europe/Prague"),
    ("SK", "Europe/Bratislava"),
    ("HU", "Europe/Budapest"),
    ("RO", "Europe/Bucharest"),
    ("BG", "Europe/Sofia"),
    ("GR", "Europe/Athens"),
    ("CY", "Asia/Nicosia"),
    ("MT", "Europe/Malta"),
    ("SI", "Europe/Ljubljana"),
    ("HR", "Europe/Zagreb"),
    ("RS", "Europe/Belgrade"),
    ("BA", "Europe/Sarajevo"),
    ("ME", "Europe/Podgorica"),
    ("MK", "Europe/Skopje"),
    ("AL", "Europe/Tirane"),
    ("EE", "Europe/Tallinn"),
    ("LV", "Europe/Riga"),
    ("LT", "Europe/Vilnius"),
    ("UA", "Europe/Kyiv"),
    ("MD", "Europe/Chisinau"),
    ("BY", "Europe/Minsk"),
    ("TR", "Europe/Istanbul"),
    ("IL", "Asia/Jerusalem"),
    ("AE", "Asia/Dubai"),
    ("SA", "Asia/Riyadh"),
    ("QA", "Asia/Qatar"),
    ("KW", "Asia/Kuwait"),
    ("BH", "Asia/Bahrain"),
    ("OM", "Asia/Muscat"),
    ("JO", "Asia/Amman"),
    ("LB", "Asia/Beirut"),
    ("EG", "Africa/Cairo"),
    ("MA", "Africa/Casablanca"),
    ("DZ", "Africa/Algiers"),
    ("TN", "Africa/Tunis"),
    ("SN", "Africa/Dakar"),
    ("CI", "Africa/Abidjan"),
    ("CM", "Africa/Douala"),
    ("NG", "Africa/Lagos"),
    ("GH", "Africa/Accra"),
    ("KE", "Africa/Nairobi"),
    ("ZA", "Africa/Johannesburg"),
    ("MU", "Indian/Mauritius"),
    ("RE", "Indian/Reunion"),
    ("GP", "America/Guadeloupe"),
    ("MQ", "America/Martinique"),
    ("GF", "America/Cayenne"),
    ("NC", "Pacific/Noumea"),
    ("PF", "Pacific/Tahiti"),
    ("IN", "Asia/Kolkata"),
    ("PK", "Asia/Karachi"),
    ("BD", "Asia/Dhaka"),
    ("LK", "Asia/Colombo"),
    ("CN", "Asia/Shanghai"),
    ("HK", "Asia/Hong_Kong"),
    ("TW", "Asia/Taipei"),
    ("JP", "Asia/Tokyo"),
    ("KR", "Asia/Seoul"),
    ("SG", "Asia/Singapore"),
    ("MY", "Asia/Kuala_Lumpur"),
    ("TH", "Asia/Bangkok"),
    ("VN", "Asia/Ho_Chi_Minh"),
    ("PH", "Asia/Manila"),
    ("NZ", "Pacific/Auckland"),
    ("GT", "America/Guatemala"),
    ("CR", "America/Costa_Rica"),
    ("PA", "America/Panama"),
    ("CO", "America/Bogota"),
    ("VE", "America/Caracas"),
    ("EC", "America/Guayaquil"),
    ("PE", "America/Lima"),
    ("BO", "America/La_Paz"),
    ("CL", "America/Santiago"),
    ("AR", "America/Argentina/Buenos_Aires"),
    ("UY", "America/Montevideo"),
    ("PY", "America/Asuncion"),
    ("DO", "America/Santo_Domingo"),
    ("JM", "America/Jamaica"),
    ("BS", "America/Nassau"),
    ("BB", "America/Barbados"),
    ("TT", "America/Port_of_Spain"),
    ("HT", "America/Port-au-Prince"),
    ("KZ", "Asia/Almaty"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_use_the_default_region() {
        let p = normalize_phone("06 12 34 56 78", Some("FR")).unwrap();
        assert_eq!(p.e164, "+33612345678");
        assert_eq!(p.region.as_deref(), Some("FR"));
        assert_eq!(p.national, "612345678");
        assert_eq!(normalize_phone("(415) 555-2671", Some("us")).unwrap().e164, "+14155552671");
    }

    #[test]
    fn international_forms_are_accepted() {
        assert_eq!(normalize_phone("+33 6 12 34 56 78", None).unwrap().e164, "+33612345678");
        assert_eq!(normalize_phone("0033 6 12 34 56 78", None).unwrap().e164, "+33612345678");
        assert_eq!(normalize_phone("+44 20 7946 0958", Some("FR")).unwrap().region.as_deref(), Some("GB"));
    }

    #[test]
    fn impossible_numbers_are_refused_with_the_input_quoted() {
        for bad in [
            "",
            "12",
            "+33 1",
            "+1 555 555 5555 5555",
            "hello",
            "+999 123456789",
            "06 12",
            "+49 201 00000015264",
        ] {
            let e = normalize_phone(bad, Some("FR")).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidPhone, "{bad}");
            assert_eq!(e.field, "phone");
        }
        // Without a region a national number cannot be placed.
        assert!(normalize_phone("06 12 34 56 78", None).is_err());
    }

    #[test]
    fn time_zones_follow_area_codes_and_countries() {
        let tz = |n: &str| infer_timezone(&normalize_phone(n, None).unwrap());
        assert_eq!(tz("+1 415 555 2671"), Some("America/Los_Angeles"));
        assert_eq!(tz("+1 212 555 0100"), Some("America/New_York"));
        assert_eq!(tz("+1 312 555 0100"), Some("America/Chicago"));
        assert_eq!(tz("+1 303 555 0100"), Some("America/Denver"));
        assert_eq!(tz("+1 604 555 0100"), Some("America/Vancouver"));
        assert_eq!(tz("+1 514 555 0100"), Some("America/Toronto"));
        assert_eq!(tz("+33 6 12 34 56 78"), Some("Europe/Paris"));
        assert_eq!(tz("+44 20 7946 0958"), Some("Europe/London"));
        assert_eq!(tz("+61 2 9374 4000"), Some("Australia/Sydney"));
        assert_eq!(tz("+61 8 9222 5555"), Some("Australia/Perth"));
        assert_eq!(tz("+55 92 3232 1234"), Some("America/Manaus"));
        // Toll-free numbers ring nowhere in particular.
        assert_eq!(tz("+1 800 555 0100"), None);
    }

    /// Multi-zone countries: placed by area code where the code says where
    /// the line is, never guessed where it does not (calling hours would be
    /// checked in the wrong zone).
    #[test]
    fn numbers_that_do_not_say_where_they_ring_get_no_zone() {
        let at = |region: &str, national: &str| {
            infer_timezone(&Phone {
                e164: String::new(),
                region: Some(region.into()),
                national: national.into(),
            })
        };
        assert_eq!(at("AU", "412345678"), None, "Australian mobile");
        assert_eq!(at("AU", "1300123456"), None);
        assert_eq!(at("AU", "892225555"), Some("Australia/Perth"));
        assert_eq!(at("RU", "4951234567"), Some("Europe/Moscow"));
        assert_eq!(at("RU", "9123456789"), None, "Russian mobile");
        assert_eq!(at("RU", "3832123456"), None, "Novosibirsk is four hours ahead of Moscow");
        assert_eq!(at("ID", "2112345678"), Some("Asia/Jakarta"));
        assert_eq!(at("ID", "81234567890"), None, "Indonesian mobile");
        assert_eq!(at("MX", "5512345678"), Some("America/Mexico_City"));
        assert_eq!(at("MX", "6641234567"), Some("America/Tijuana"));
        assert_eq!(at("MX", "9981234567"), Some("America/Cancun"));
        assert_eq!(at("MX", "6621234567"), Some("America/Hermosillo"));
        assert_eq!(at("ES", "922123456"), Some("Atlantic/Canary"));
        assert_eq!(at("ES", "911234567"), Some("Europe/Madrid"));
        assert_eq!(at("PT", "296123456"), Some("Atlantic/Azores"));
        assert_eq!(at("PT", "211234567"), Some("Europe/Lisbon"));
        // Through the parser too.
        let tz = |n: &str| infer_timezone(&normalize_phone(n, None).unwrap());
        assert_eq!(tz("+61 412 345 678"), None);
        assert_eq!(tz("+7 912 345 67 89"), None);
    }

    #[test]
    fn every_zone_in_the_tables_exists_in_the_tz_database() {
        let zones = NANP_ZONES
            .iter()
            .chain(MEXICO_ZONES)
            .map(|(z, _)| *z)
            .chain(COUNTRY_ZONES.iter().map(|(_, z)| *z))
            .chain([
                "Atlantic/Canary",
                "Atlantic/Azores",
                "Europe/Moscow",
                "Asia/Jakarta",
                "America/Mexico_City",
            ]);
        for z in zones {
            assert!(z.parse::<chrono_tz::Tz>().is_ok(), "{z}");
        }
        for area in NANP_ZONES.iter().flat_map(|(_, c)| c.split(' ').filter(|c| !c.is_empty())) {
            assert_eq!(area.len(), 3, "{area:?}");
            let n = NANP_ZONES.iter().filter(|(_, c)| c.split(' ').any(|x| x == area)).count();
            assert_eq!(n, 1, "area code {area} in {n} zones");
        }
    }
}

/// Property tests: any text is safe to parse, and what parses is stable.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    fn region() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            prop::sample::select(vec![
                "FR", "fr", " us ", "GB", "DE", "IT", "AU", "BR", "MX", "CA", "ZZ", "", "F", "FRA", "é"
            ])
            .prop_map(|r| Some(r.to_string())),
            "\\PC{0,4}".prop_map(Some),
        ]
    }

    /// Text shaped like phone numbers: prefixes, digits and the separators
    /// people type, so a good share of inputs are valid numbers.
    fn phone_like() -> impl Strategy<Value = String> {
        let prefix = prop::sample::select(vec![
            "", "+", "00", "0", "+33 ", "+1 ", "0033", "+44 ", "+61 ", "+55 ", "+39 0", "+7 ", "tel:",
            "+800 ",
        ]);
        let piece = prop_oneof![
            4 => "[0-9]{1,3}",
            1 => prop::sample::select(vec![" ", "-", ".", "(", ")", "/", " x", " ext. ", "#", "*", "+", "٣", "０", "\u{a0}"]).prop_map(str::to_string),
        ];
        (prefix, prop::collection::vec(piece, 0..12)).prop_map(|(p, rest)| format!("{p}{}", rest.concat()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_text_parses_or_is_refused(input in prop_oneof![phone_like(), "\\PC{0,64}"], region in region()) {
            match normalize_phone(&input, region.as_deref()) {
                Ok(p) => {
                    prop_assert!(input.trim().len() <= 40);
                    let digits = p.e164.strip_prefix('+');
                    prop_assert!(digits.is_some_and(|d| !d.is_empty() && d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit())), "{:?}", p);
                    prop_assert!(!p.national.is_empty() && p.national.bytes().all(|b| b.is_ascii_digit()));
                    prop_assert!(p.e164.ends_with(&p.national), "{:?}", p);
                    // The stored form is a fixed point: it parses to itself, in any region.
                    let again = normalize_phone(&p.e164, None);
                    prop_assert_eq!(again.as_ref(), Ok(&p));
                    let again = normalize_phone(&p.e164, region.as_deref());
                    prop_assert_eq!(again.as_ref(), Ok(&p));
                    if let Some(zone) = infer_timezone(&p) {
                        prop_assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{}", zone);
                    }
                }
                Err(e) => {
                    prop_assert_eq!(e.code, ErrorCode::InvalidPhone);
                    prop_assert_eq!(e.field, "phone");
                }
            }
        }

        #[test]
        fn the_international_format_reads_back_as_the_same_number(
            input in phone_like(),
            region in region(),
        ) {
            // Separators placed at random ("+790-00-0-0") are not a format
            // people write; the grouping the library itself prints (spaces
            // and dashes, as on a business card) must read back exactly.
            let Ok(p) = normalize_phone(&input, region.as_deref()) else { return Ok(()) };
            let number = phonenumber::parse(None, &p.e164).expect("E.164 parses");
            let grouped = number.format().mode(Mode::International).to_string();
            prop_assert_eq!(normalize_phone(&grouped, None), Ok(p.clone()));
            let dashed = grouped.replace(' ', "-");
            prop_assert_eq!(normalize_phone(&dashed, None), Ok(p));
        }

        #[test]
        fn zones_are_inferred_for_any_region_and_digits(region in "[A-Z]{2}|\\PC{0,3}", national in "[0-9]{0,12}|\\PC{0,6}") {
            let p = Phone { e164: String::new(), region: Some(region), national };
            if let Some(zone) = infer_timezone(&p) {
                prop_assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{}", zone);
            }
        }
    }

    /// The default region only applies to numbers written without a country
    /// code: it must not strip its own national prefix from other countries'.
    #[test]
    fn a_default_region_does_not_alter_international_numbers() {
        for region in [None, Some("US"), Some("FR"), Some("RU"), Some("GB")] {
            let p = normalize_phone("+33 1 42 76 49 78", region).unwrap();
            assert_eq!((p.e164.as_str(), p.region.as_deref()), ("+33142764978", Some("FR")), "{region:?}");
            assert_eq!(normalize_phone("0033 1 42 76 49 78", region).unwrap(), p, "{region:?}");
        }
    }
}
