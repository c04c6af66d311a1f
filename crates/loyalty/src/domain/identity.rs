//! Who a customer file is in a group-wide club: the mobile number that
//! identifies the person when the file first meets the club. Pure.

/// What a customer file says about its numbers, in the order it said it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileFact {
    /// The profile as registered or updated: its numbers, each with whether
    /// it is a mobile.
    Numbers(Vec<(String, bool)>),
    /// A call reached someone else on this number.
    ReportedWrong(String),
}

/// The first mobile number of the file's latest profile not reported wrong
/// since; none without one (the person is then a member of their own file).
pub fn identifying_mobile(facts: &[FileFact]) -> Option<String> {
    let mut numbers: &[(String, bool)] = &[];
    let mut wrong: Vec<&str> = Vec::new();
    for fact in facts {
        match fact {
            FileFact::Numbers(n) => {
                numbers = n;
                wrong.clear();
            }
            FileFact::ReportedWrong(number) => wrong.push(number),
        }
    }
    numbers
        .iter()
        .find(|(number, mobile)| *mobile && !wrong.contains(&number.as_str()))
        .map(|(number, _)| number.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(list: &[(&str, bool)]) -> FileFact {
        FileFact::Numbers(list.iter().map(|(n, m)| ((*n).to_owned(), *m)).collect())
    }

    #[test]
    fn the_first_mobile_of_the_latest_profile_not_reported_wrong() {
        let landline_first = numbers(&[("021-62345678", false), ("13812341234", true)]);
        assert_eq!(
            identifying_mobile(std::slice::from_ref(&landline_first)).as_deref(),
            Some("13812341234")
        );
        // The update states the numbers anew.
        let updated = numbers(&[("13900001111", true)]);
        assert_eq!(
            identifying_mobile(&[landline_first.clone(), updated.clone()]).as_deref(),
            Some("13900001111")
        );
        // A number reported wrong after the profile does not identify anyone…
        let wrong = FileFact::ReportedWrong("13812341234".into());
        assert_eq!(
            identifying_mobile(&[landline_first.clone(), wrong.clone()]),
            None
        );
        // …until a later profile states it again.
        assert_eq!(
            identifying_mobile(&[landline_first.clone(), wrong, landline_first]).as_deref(),
            Some("13812341234")
        );
        assert_eq!(
            identifying_mobile(&[numbers(&[("021-62345678", false)])]),
            None
        );
        assert_eq!(identifying_mobile(&[]), None);
    }
}
