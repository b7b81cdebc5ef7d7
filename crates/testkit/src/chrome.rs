//! Fixture: chrome.
