//! libFuzzer target for the LDIF reader: any input must produce a snapshot or
//! an error naming a line of the input, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let scope =
        dirsync_directory::Scope::new(Some("Exchange"), Some("CN=RS,DC=example,DC=com")).unwrap();
    match dirsync_directory::read_snapshot(text, &scope) {
        Ok(_) => {}
        Err(e) => {
            if let Some(line) = e.line() {
                assert!(line >= 1 && line <= text.split('\n').count());
            }
        }
    }
});
