//! Helpers shared by the Samba test binaries.

use dirsync_directory::{Incremental, SourceStats};

/// The cookie an incremental read handed back.
pub fn cookie(c: &Incremental) -> Vec<u8> {
    match c {
        Incremental::Changes(ch) => ch.cookie.clone(),
        Incremental::FullResync { cookie, .. } => cookie.clone(),
    }
}

/// What an idle shortcut must look like: no change, the `stored` cookie
/// handed back as it was, and only the two reads of the DC's mark.
pub fn assert_idle_shortcut(
    r: &Incremental,
    stored: &[u8],
    before: SourceStats,
    after: SourceStats,
) {
    assert!(
        matches!(r, Incremental::Changes(c) if c.changes.is_empty()),
        "{r:?}"
    );
    assert_eq!(
        cookie(r),
        stored,
        "the cookie must be handed back unchanged"
    );
    assert_eq!(
        after.change_searches, before.change_searches,
        "an idle shortcut searched for changes"
    );
    assert_eq!(
        after.searches - before.searches,
        2,
        "an idle shortcut costs the rootDSE and invocationId reads only"
    );
}
