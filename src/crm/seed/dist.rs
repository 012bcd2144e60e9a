//! The distribution of the synthetic population (documented in `docs/crm-seed.md`; keep the two in step).
//!
//! Tier, country and "bought in the last 180 days" are drawn independently, so the reference segment
//! `tier IN (gold, platinum) AND country = FR AND a purchase in the last 180 days` matches
//! 0.40 × 0.50 × 0.50 = 10 % of the profiles: about 100k of 1M.

/// Days of history: activities fall in the last two years.
pub const HISTORY_DAYS: i64 = 730;
/// The window of the reference segment's third condition.
pub const RECENT_DAYS: i64 = 180;
/// Share of profiles whose newest purchase falls in the last [`RECENT_DAYS`] (every other profile's
/// purchases are older than that).
pub const RECENT_BUYER_SHARE: f64 = 0.50;

/// Weighted choices, weights in per mille (each table sums to 1000).
pub type Weighted<T> = &'static [(T, u32)];

pub const TIERS: Weighted<&str> = &[
    ("member", 350),
    ("silver", 250),
    ("gold", 250),
    ("platinum", 150),
];

/// Country, calling code, locale, first names, last names, cities.
pub struct Country {
    pub code: &'static str,
    pub calling_code: &'static str,
    pub locale: &'static str,
    pub first_names: &'static [&'static str],
    pub last_names: &'static [&'static str],
    pub cities: &'static [&'static str],
}

const EN_FIRST: &[&str] = &[
    "James",
    "Olivia",
    "William",
    "Emma",
    "Henry",
    "Charlotte",
    "George",
    "Amelia",
    "Jack",
    "Grace",
];
const EN_LAST: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright", "Clarke", "Hughes",
];

pub const COUNTRIES: Weighted<Country> = &[
    (
        Country {
            code: "FR",
            calling_code: "33",
            locale: "fr-FR",
            first_names: &[
                "Camille", "Louise", "Chloe", "Manon", "Lea", "Hugo", "Louis", "Arthur", "Jules",
                "Gabriel", "Alice", "Paul",
            ],
            last_names: &[
                "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
                "Leroy", "Moreau", "Simon", "Laurent",
            ],
            cities: &["Paris", "Lyon", "Marseille", "Bordeaux", "Nice", "Lille"],
        },
        500,
    ),
    (
        Country {
            code: "JP",
            calling_code: "81",
            locale: "ja-JP",
            first_names: &[
                "Hanako", "Yuki", "Haruto", "Sakura", "Ren", "Aoi", "Sota", "Hina", "Riku", "Mei",
            ],
            last_names: &[
                "Sato",
                "Suzuki",
                "Takahashi",
                "Tanaka",
                "Watanabe",
                "Ito",
                "Yamamoto",
                "Nakamura",
                "Kobayashi",
                "Kato",
            ],
            cities: &["Tokyo", "Osaka", "Kyoto", "Yokohama", "Nagoya"],
        },
        120,
    ),
    (
        Country {
            code: "IT",
            calling_code: "39",
            locale: "it-IT",
            first_names: &[
                "Giulia",
                "Sofia",
                "Aurora",
                "Leonardo",
                "Francesco",
                "Alessandro",
                "Lorenzo",
                "Chiara",
                "Marco",
                "Elena",
            ],
            last_names: &[
                "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
                "Marino", "Greco",
            ],
            cities: &["Milano", "Roma", "Firenze", "Torino", "Napoli"],
        },
        80,
    ),
    (
        Country {
            code: "GB",
            calling_code: "44",
            locale: "en-GB",
            first_names: EN_FIRST,
            last_names: EN_LAST,
            cities: &["London", "Manchester", "Edinburgh", "Bristol"],
        },
        80,
    ),
    (
        Country {
            code: "US",
            calling_code: "1",
            locale: "en-US",
            first_names: EN_FIRST,
            last_names: EN_LAST,
            cities: &[
                "New York",
                "Los Angeles",
                "Miami",
                "Chicago",
                "San Francisco",
            ],
        },
        80,
    ),
    (
        Country {
            code: "DE",
            calling_code: "49",
            locale: "de-DE",
            first_names: &[
                "Emma", "Mia", "Hannah", "Lukas", "Leon", "Felix", "Anna", "Paul", "Lena", "Jonas",
            ],
            last_names: &[
                "Muller",
                "Schmidt",
                "Schneider",
                "Fischer",
                "Weber",
                "Meyer",
                "Wagner",
                "Becker",
                "Hoffmann",
                "Schulz",
            ],
            cities: &["Berlin", "Munchen", "Hamburg", "Frankfurt", "Dusseldorf"],
        },
        50,
    ),
    (
        Country {
            code: "CN",
            calling_code: "86",
            locale: "zh-CN",
            first_names: &[
                "Wei", "Fang", "Jing", "Li", "Min", "Yan", "Hao", "Lei", "Xin", "Yu",
            ],
            last_names: &[
                "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
            ],
            cities: &["Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu"],
        },
        50,
    ),
    (
        Country {
            code: "KR",
            calling_code: "82",
            locale: "ko-KR",
            first_names: &[
                "Minjun", "Seoyeon", "Jiwoo", "Hayoon", "Doyun", "Jiho", "Sua", "Yejun", "Jimin",
                "Eunji",
            ],
            last_names: &[
                "Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim",
            ],
            cities: &["Seoul", "Busan", "Incheon", "Daegu"],
        },
        40,
    ),
];

/// Each tag is set independently with its probability (per mille).
pub const TAGS: &[(&str, u32)] = &[
    ("newsletter", 400),
    ("vip", 80),
    ("watches", 150),
    ("jewellery", 200),
    ("leather", 250),
    ("fragrance", 300),
    ("couture", 100),
    ("events", 120),
];

pub const EMAIL_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];
/// Per mille of profiles with a phone (an identifier too) and with a loyalty id (`loyalty:L…`).
pub const PHONE_SHARE: u32 = 850;
pub const LOYALTY_SHARE: u32 = 300;
pub const BIRTHDAY_SHARE: u32 = 700;
pub const LOYALTY_KIND: &str = "loyalty";

/// Activity types of the activities not pinned by the recent-purchase rule.
pub const ACTIVITY_TYPES: Weighted<&str> = &[
    ("page_view", 380),
    ("email_opened", 200),
    ("email_clicked", 80),
    ("purchase", 100),
    ("booking", 80),
    ("store_visit", 70),
    ("event_attended", 50),
    ("support_case_opened", 40),
];
/// The index of `purchase` in [`ACTIVITY_TYPES`].
pub const PURCHASE: usize = 3;

/// A purchase holds one to three items (weights in per mille), each drawn from this list: SKU, list price
/// (in the brand's currency, whatever it is), category.
pub const ITEM_COUNTS: Weighted<usize> = &[(1, 700), (2, 220), (3, 80)];
pub const CATALOG: Weighted<(&str, u32)> = &[
    (("FRA-EDP-50", 180), 260),
    (("FRA-EDP-100", 260), 140),
    (("SLG-WALLET-01", 450), 160),
    (("SCARF-SILK-90", 520), 120),
    (("BAG-CABAS-01", 2400), 110),
    (("BAG-TRUNK-02", 4800), 50),
    (("JWL-RING-01", 1900), 70),
    (("JWL-NECK-02", 6500), 30),
    (("WATCH-AUTO-38", 9800), 40),
    (("SHOE-LOAFER-01", 890), 20),
];

pub const BOOKING_SERVICES: &[&str] =
    &["fitting", "private_viewing", "repair", "personal_shopping"];
pub const EVENTS: &[&str] = &[
    "spring-show",
    "haute-joaillerie-preview",
    "atelier-visit",
    "summer-cocktail",
    "winter-gala",
];
pub const PAGES: &[&str] = &[
    "/",
    "/collections/leather",
    "/collections/jewellery",
    "/collections/watches",
    "/collections/fragrance",
    "/stores",
    "/account",
];
pub const CASE_TOPICS: &[&str] = &["repair", "delivery", "return", "personalisation"];
/// Campaign names `c01`…`c40` in email activities.
pub const CAMPAIGNS: u32 = 40;

/// Consent per profile (per mille): email × marketing granted / denied (no row otherwise); SMS × marketing
/// and WhatsApp × outreach only for profiles with a phone.
pub const EMAIL_MARKETING: (u32, u32) = (550, 100);
pub const SMS_MARKETING: (u32, u32) = (250, 50);
pub const WHATSAPP_OUTREACH: (u32, u32) = (200, 30);
