//! Property tests: the log scrubber answers any text and never lets an e-mail address through whole.

use proptest::prelude::*;

use super::{email, phone, scrub};
use crate::testing::{config, hostile_text};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_scrubbed(text in hostile_text()) {
        let _ = scrub(&text);
        let _ = phone(&text);
        let _ = email(&text);
    }

    #[test]
    fn an_address_in_text_never_survives_whole(
        before in "\\PC{0,20}",
        local in "[a-z0-9._%+-]{2,12}",
        domain in "[a-z0-9-]{1,10}\\.[a-z]{2,4}",
        after in "\\PC{0,20}",
    ) {
        let address = format!("{local}@{domain}");
        let text = format!("{before} {address} {after}");
        prop_assert!(!scrub(&text).contains(&address), "{}", scrub(&text));
    }
}
