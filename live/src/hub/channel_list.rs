//! The channel list of a multiplexed stream (`?channels=a,b,c`), parsed at a cost bounded by
//! the limit, not by the list.

use super::HubError;

/// Parses `a,b,c` (names trimmed, empty ones skipped, duplicates dropped) and stops at the
/// first name past `limit`, or past `2 × limit` names listed, repeats included: the work is
/// bounded by the limit, not by the length of the list.
pub fn channel_list(text: &str, limit: usize) -> Result<Vec<String>, HubError> {
    let names = text.split(',').map(str::trim).filter(|n| !n.is_empty());
    Ok(distinct(names, limit)?
        .into_iter()
        .map(str::to_string)
        .collect())
}

/// `names` without duplicates, in order; refused when empty, when a name past `limit`
/// appears, or when more than `2 × limit` names come (repeats too), which is where the loop
/// stops: its cost is bounded by the limit, not the input.
pub(super) fn distinct<'a>(
    names: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Result<Vec<&'a str>, HubError> {
    let mut unique: Vec<&str> = Vec::new();
    for (listed, name) in names.into_iter().enumerate() {
        if listed == limit.saturating_mul(2) {
            return Err(HubError::TooManyChannels { limit });
        }
        if unique.contains(&name) {
            continue;
        }
        if unique.len() == limit {
            return Err(HubError::TooManyChannels { limit });
        }
        unique.push(name);
    }
    if unique.is_empty() {
        return Err(HubError::NoChannels);
    }
    Ok(unique)
}
