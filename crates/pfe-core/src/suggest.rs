//! "Did you mean": the one place that picks the known name closest to a
//! misspelt one, for options, modules, profiles, environments, features
//! and PROSODY_* variables alike.
//!
//! The distance is [`strsim::osa_distance`] (optimal string alignment:
//! Damerau-Levenshtein with adjacent transpositions), compared without
//! regard to case.  A candidate is a typo of `name` when it is within
//! 1 edit for names up to 4 characters, 2 up to 12, 3 beyond, and fewer
//! edits than `name` has characters.  Ties go to the candidate sharing the
//! longest prefix with `name`, then to the alphabetically first.  When no
//! candidate is that close, an abbreviation of at least 3 characters that
//! begins exactly one candidate (`prod` → `production`) gets it.

use std::cmp::Reverse;

/// The closest of `candidates` to `name`, or None when nothing is close
/// enough to be a typo of it.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let len = lower.chars().count();
    let limit = match len {
        0 => return None,
        1..=4 => 1,
        5..=12 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, Reverse<usize>, &'a str)> = None;
    // The candidates `name` abbreviates: (the first, whether it is the only one).
    let mut completion: Option<(&'a str, bool)> = None;
    for cand in candidates {
        let cand_lower = cand.to_lowercase();
        if len >= 3 && cand_lower.len() > lower.len() && cand_lower.starts_with(&lower) {
            completion = match completion {
                None => Some((cand, true)),
                Some((first, _)) => Some((first, false)),
            };
        }
        let d = strsim::osa_distance(&lower, &cand_lower);
        if d > limit || d >= len {
            continue;
        }
        let prefix = lower
            .chars()
            .zip(cand_lower.chars())
            .take_while(|(a, b)| a == b)
            .count();
        let key = (d, Reverse(prefix), cand);
        if best.is_none_or(|b| key < b) {
            best = Some(key);
        }
    }
    best.map(|(_, _, c)| c)
        .or(completion.and_then(|(c, only)| only.then_some(c)))
}

/// [`closest`], owned: for error values that outlive the candidates.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_within_the_threshold_are_suggested() {
        let known = ["standard", "minimal", "production", "development"];
        assert_eq!(closest("standrd", known), Some("standard"));
        assert_eq!(closest("standrad", known), Some("standard"));
        assert_eq!(closest("prodution", known), Some("production"));
        assert_eq!(closest("zzzzzzz", known), None);
        assert_eq!(closest("", known), None);
        // Already known: distance 0 is still "closest" (callers filter).
        assert_eq!(closest("minimal", known), Some("minimal"));
    }

    #[test]
    fn the_threshold_grows_with_the_length() {
        // 4 characters: one edit, not two.
        assert_eq!(closest("carb", ["card"]), Some("card"));
        assert_eq!(closest("carb", ["cord"]), None);
        // 5..=12: two edits, not three.
        assert_eq!(closest("abcdefg", ["abcdeXY"]), Some("abcdeXY"));
        assert_eq!(closest("abcdefg", ["abcdXYZ"]), None);
        // Beyond 12: three edits.
        assert_eq!(
            closest("abcdefghijklm", ["abcdefghijXYZ"]),
            Some("abcdefghijXYZ")
        );
        assert_eq!(closest("abcdefghijklm", ["abcdefghiWXYZ"]), None);
        // Never as many edits as the name has characters.
        assert_eq!(closest("a", ["b"]), None);
    }

    #[test]
    fn an_abbreviation_of_exactly_one_name_gets_it() {
        let envs = ["development", "production", "staging", "testing"];
        assert_eq!(closest("prod", envs), Some("production"));
        assert_eq!(closest("DEV", envs), Some("development"));
        // Too short, or the beginning of more than one name: nothing.
        assert_eq!(closest("pr", envs), None);
        assert_eq!(closest("mobile/", ["mobile/push", "mobile/csi"]), None);
        // A typo within the threshold wins over a completion.
        assert_eq!(closest("stagin", ["staging", "stagingx"]), Some("staging"));
    }

    #[test]
    fn case_is_ignored_and_the_candidate_is_returned_as_spelt() {
        let vars = ["PROSODY_DOMAIN", "PROSODY_PROFILE"];
        assert_eq!(closest("PROSODY_DOMIAN", vars), Some("PROSODY_DOMAIN"));
        assert_eq!(closest("prosody_domian", vars), Some("PROSODY_DOMAIN"));
        assert_eq!(closest("C2S_Ports", ["c2s_ports"]), Some("c2s_ports"));
    }

    #[test]
    fn ties_go_to_the_longer_common_prefix_then_the_alphabet() {
        assert_eq!(closest("mamx", ["bamx", "mamy"]), Some("mamy"));
        assert_eq!(closest("abcx", ["abcz", "abcy"]), Some("abcy"));
        assert_eq!(
            did_you_mean("web/admn", ["web/admin", "web/adm"]).as_deref(),
            Some("web/adm")
        );
    }
}
